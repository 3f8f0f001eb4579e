"""Benchmarks of every per-frame cost of the service (run as ``python -m benchmarks.<name>``)."""
