"""Test fixtures: keyring_env (filled in by its owner)."""
