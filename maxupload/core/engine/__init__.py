"""The upload engine: a thread scheduler that walks each queued photo through its steps."""
