"""Adapters to the outside world, one module per system."""
