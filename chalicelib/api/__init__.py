"""HTTP layer: one Blueprint per service, thin routes, one error mapping."""
