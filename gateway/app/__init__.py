"""Wiring: configuration files, the command line, and (later) the call supervisor."""
