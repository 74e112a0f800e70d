"""Test fixtures: contract (filled in by its owner)."""
