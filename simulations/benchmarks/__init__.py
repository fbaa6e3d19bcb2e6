"""Benchmarks that write JSON reports (not timed tests)."""
