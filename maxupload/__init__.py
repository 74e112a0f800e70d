"""MaxUpload: attach clinical photos to patient visit notes through the Max AI Public API."""

__version__ = "0.1.0"
APP_NAME = "MaxUpload"
USER_AGENT = f"{APP_NAME}/{__version__}"
