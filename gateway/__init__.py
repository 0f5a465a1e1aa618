"""voicegw: a SIP gateway that puts OpenAI Realtime voice agents on the phone."""

__version__ = "0.1.0"
