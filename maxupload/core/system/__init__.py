"""The machine: app folders, logging with secret redaction, disk-full errors."""
