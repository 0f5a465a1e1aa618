"""The sans-I/O core: bytes, events and ``now`` in; actions and events out.

Nothing under ``gateway.core`` imports asyncio, sockets, threads, pjsua2, websockets or reads
the clock; ``tests/core/test_no_io_imports.py`` enforces it.
"""
