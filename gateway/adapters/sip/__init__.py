"""The pjsua2 SIP adapter: the endpoint's threads, per-call media ports and their buffers.

Importing this package does not import pjsua2; :mod:`gateway.adapters.sip.media` (the buffers)
is pure Python and usable without it.
"""
