"""Fakes and helpers shipped for testing code built on voicegw."""
