"""The table of checks doctor runs (registry.py)."""
