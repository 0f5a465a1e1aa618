"""What a call's record keeps of the agent runtime's events, whatever the transport.

The phone layer acts on the ``*Requested`` events and on failures itself; everything else a
:class:`~gateway.runtime.session.RealtimeSession` reports lands in the CDR the same way for
the pjsua2 transport and the OpenAI SIP transport.
"""

from __future__ import annotations

from gateway.adapters.sip.media import PlayoutRing, UplinkQueue
from gateway.app.phone import TransferOutcome
from gateway.core.call import CallRecord
from gateway.runtime import events as ev

__all__ = ["note_media_counters", "note_session_event", "note_transfer"]


def note_transfer(record: CallRecord, target: str, uri: str, outcome: TransferOutcome) -> None:
    """How a transfer (REFER) ended, for the CDR's ``transfer``."""
    record.transfer = {
        "target": target,
        "uri": uri,
        "ok": outcome.ok,
        "status": outcome.status,
        "detail": outcome.detail,
    }


def note_media_counters(record: CallRecord, playout: PlayoutRing, uplink: UplinkQueue) -> None:
    """The call's frame counts, both ways, into ``record.counters``."""
    out, into = playout.counters(), uplink.counters()
    record.counters.update(
        frames_out=out.played,
        underruns=out.underruns,
        held_ms=out.held_ticks * 20,
        hold_overruns=out.hold_overruns,
        frames_in=into.received,
        frames_in_dropped=into.dropped,
        frames_out_dropped=out.overflows,
    )


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
