"""Photos: formats, metadata, prepare (decode once), thumbnails, size presets."""
