"""Domain logic of the game backend: config, services, storage and the HTTP layer."""
