"""Benchmarks run on demand (`make bench`): each prints a ratio against a floor measured in the same run."""
