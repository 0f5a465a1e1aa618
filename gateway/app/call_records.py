"""What a call's session events add to its CDR (counters, tools, agents, interruptions)."""

from __future__ import annotations

from gateway.core.call import CallRecord
from gateway.runtime import events as ev

__all__ = ["record_session_event"]


def record_session_event(record: CallRecord, event: ev.SessionEvent) -> None:
    """Note ``event`` in ``record`` (events that change nothing in the CDR are ignored)."""
    if isinstance(event, ev.ToolEnded):
        record.tools.append(
            {"tool": event.tool, "ok": event.ok, "ms": round(event.duration_s * 1000)}
        )
    elif isinstance(event, ev.HandoffDone):
        record.agent(event.to_agent)
    elif isinstance(event, ev.AudioInterruptedEvent):
        record.count("barge_ins" if event.cause == "speech" else "interrupts")
        record.interruptions.append(
            {"cause": event.cause, "item_id": event.item_id, "heard_ms": event.audio_end_ms}
        )
    elif isinstance(event, ev.GuardrailTripped):
        record.count("guardrail_trips")
        if event.leaked is not None:
            record.count("trips_after_heard" if event.leaked else "trips_before_heard")
        record.errors.append(f"guardrail {event.guardrail}: {event.reason}")
    elif isinstance(event, ev.Reconnected):
        record.count("realtime_reconnects")
    elif isinstance(event, ev.DtmfEvent):
        record.count("dtmf_digits", len(event.digits))
    elif isinstance(event, ev.SessionFailed):
        record.errors.append(event.reason)
