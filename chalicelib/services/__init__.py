"""Use cases, one module per service; dependencies passed in."""
