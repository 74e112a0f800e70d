"""The upload engine: a thread scheduler, the per-photo step with typed ports, user actions."""
