"""Logging, metrics and call records."""
