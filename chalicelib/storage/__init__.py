"""Storage: the data definition, AWS clients, repositories and error translation."""
