"""Tools the bundled agent graphs use (a small business's answering bot, a call centre).

They stand in for a real business's systems: each is a plain function of JSON arguments that
returns a JSON-serialisable result, which is exactly what a user's own tools look like.
"""
