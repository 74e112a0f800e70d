"""The Max AI Public API: transport, session and retries, endpoints, wire parsing, errors."""
