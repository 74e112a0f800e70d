"""Safety checks before sending: capture date vs visit, patient labels, confirmation."""
