"""Web pages: the member portal and the staff console."""
