"""Core infrastructure: settings, security, password hashing."""
