"""Reusable ipywidgets (no technique knowledge)."""
