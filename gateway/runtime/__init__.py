"""The async agent runtime shared by both transports: one RealtimeSession per call."""
