"""Pydantic request and response models; names say their role."""
