"""The MaxUpload window (PySide6). Depends on ``maxupload.core``; the core never depends on it."""
