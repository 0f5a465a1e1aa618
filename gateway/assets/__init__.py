"""Data files shipped with voicegw (prompts)."""
