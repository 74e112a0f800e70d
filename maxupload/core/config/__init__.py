"""Settings, managed (IT-locked) settings and the API key in the OS keyring."""
