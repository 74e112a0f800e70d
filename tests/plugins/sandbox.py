"""Test fixtures: sandbox (filled in by its owner)."""
