"""Build-time helpers for the static site (imported by build.py; not in the engine wheel)."""
