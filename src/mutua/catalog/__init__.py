"""Projects, products, periods and benefits (产品目录)."""
