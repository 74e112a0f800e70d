"""Test fixtures: images (filled in by its owner)."""
