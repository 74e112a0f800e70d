"""The upload queue: item model, SQLite schema and migrations, store, duplicate guard."""
