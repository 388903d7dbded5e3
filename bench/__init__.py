"""Benchmarks: figures counted with botocore event hooks (`make bench`)."""
