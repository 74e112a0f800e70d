"""The Max AI Public API: transport, endpoints, wire models and parsing, typed errors."""
