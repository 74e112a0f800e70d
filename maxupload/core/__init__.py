"""The Qt-free core of MaxUpload: API client, imaging, queue, secrets, settings.

Nothing under this package may import PySide6; the command line and the window both stand on it.
"""
