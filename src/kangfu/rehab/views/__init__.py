"""Pages of 精康, by concept: thin views over the selectors (what may be seen) and the services (what
may change)."""
