"""What a call's record keeps of the agent runtime's events, whatever the transport.

The phone layer acts on the ``*Requested`` events and on failures itself; everything else a
:class:`~gateway.runtime.session.RealtimeSession` reports lands in the CDR the same way for
the pjsua2 transport and the OpenAI SIP transport.
"""

from __future__ import annotations

from gateway.core.call import CallRecord
from gateway.runtime import events as ev

__all__ = ["note_session_event"]


def note_session_event(record: CallRecord, event: ev.SessionEvent) -> None:
    """Count or log ``event`` in ``record`` (tools, handoffs, cuts, trips, DTMF, reconnects)."""
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
    elif isinstance(event, ev.InputGuardrailTriggered):
        record.count("input_guardrail_hits")
    elif isinstance(event, ev.Reconnected):
        record.count("realtime_reconnects")
    elif isinstance(event, ev.DtmfEvent):
        record.count("dtmf_digits", len(event.digits))
    elif isinstance(event, ev.ErrorOccurred) and event.fatal:
        record.errors.append(f"realtime {event.code}: {event.message}")
    elif isinstance(event, ev.SessionFailed):
        record.errors.append(event.reason)
