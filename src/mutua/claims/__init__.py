"""Claims (理赔): report, adjudicate, pay."""
