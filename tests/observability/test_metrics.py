"""A gateway process's metrics: counted from CDRs, media histograms, loop lag, text format."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from gateway.adapters.sip.media import MediaStats
from gateway.observability.metrics import GatewayMetrics, LoopLagMonitor


def _values(metrics: GatewayMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


CDR: dict[str, Any] = {
    "outcome": "transferred",
    "ms_since_invite": {"invite": 0, "answer": 420, "first_agent_audio": 900, "end": 30_000},
    "counters": {
        "frames_in": 1500,
        "frames_out": 1200,
        "frames_in_dropped": 2,
        "frames_out_dropped": 1,
        "underruns": 3,
        "barge_ins": 2,
        "dtmf_digits": 4,
        "guardrail_trips": 1,
        "realtime_reconnects": 1,
    },
    "agents": ["triage", "billing", "triage"],
    "tools": [{"tool": "get_balance", "ok": True}, {"tool": "crm", "ok": False}],
    "transfer": {"target": "reception", "ok": True, "status": 200},
}


def test_one_cdr_feeds_every_call_metric() -> None:
    """Outcome, setup, first audio, frames, drops, late frames, barge-ins, DTMF, handoffs,
    tools (ok and failed), guardrail trips, transfer outcome and reconnects come from the CDR."""
    metrics = GatewayMetrics(active_calls=lambda: 2, media=MediaStats())
    metrics.call_finished(CDR)
    v = _values(metrics)
    assert v[("voicegw_calls_total", (("outcome", "transferred"),))] == 1
    assert v[("voicegw_calls_active", ())] == 2
    assert v[("voicegw_call_setup_seconds_sum", ())] == 0.42
    assert v[("voicegw_first_agent_audio_seconds_sum", ())] == 0.48
    assert v[("voicegw_frames_total", (("direction", "in"),))] == 1500
    assert v[("voicegw_frames_total", (("direction", "out"),))] == 1200
    assert v[("voicegw_frames_dropped_total", (("direction", "in"),))] == 2
    assert v[("voicegw_frames_dropped_total", (("direction", "out"),))] == 1
    assert v[("voicegw_frames_late_total", ())] == 3
    assert v[("voicegw_barge_ins_total", ())] == 2
    assert v[("voicegw_dtmf_digits_total", ())] == 4
    assert v[("voicegw_handoffs_total", ())] == 2
    assert v[("voicegw_tool_calls_total", (("result", "ok"),))] == 1
    assert v[("voicegw_tool_calls_total", (("result", "failed"),))] == 1
    assert v[("voicegw_guardrail_trips_total", ())] == 1
    assert v[("voicegw_transfers_total", (("outcome", "ok"),))] == 1
    assert v[("voicegw_realtime_reconnects_total", ())] == 1


def test_a_refused_call_counts_by_outcome_only() -> None:
    """A refusal's CDR has no answer: no setup time is observed, the outcome is counted."""
    metrics = GatewayMetrics(active_calls=lambda: 0, media=MediaStats())
    metrics.call_finished(
        {"outcome": "refused_capacity", "ms_since_invite": {"invite": 0}, "counters": {}}
    )
    v = _values(metrics)
    assert v[("voicegw_calls_total", (("outcome", "refused_capacity"),))] == 1
    assert v[("voicegw_call_setup_seconds_count", ())] == 0


def test_media_histograms_are_exported_as_cumulative_buckets() -> None:
    """The media buffers' histograms appear as Prometheus histograms, per direction."""
    media = MediaStats()
    media.uplink.add(0.0012)
    media.uplink.add(0.0031)
    media.downlink.add(0.0004)
    media.cut_to_silence.add(0.013)
    v = _values(GatewayMetrics(active_calls=lambda: 0, media=media))
    up = (("direction", "uplink"),)
    assert v[("voicegw_added_latency_seconds_bucket", (*up, ("le", "0.001")))] == 0
    assert v[("voicegw_added_latency_seconds_bucket", (*up, ("le", "0.002")))] == 1
    assert v[("voicegw_added_latency_seconds_bucket", (*up, ("le", "+Inf")))] == 2
    assert v[("voicegw_added_latency_seconds_count", up)] == 2
    down = (("direction", "downlink"),)
    assert v[("voicegw_added_latency_seconds_bucket", (*down, ("le", "0.0005")))] == 1
    assert v[("voicegw_cut_to_silence_seconds_bucket", (("le", "0.015"),))] == 1


async def test_loop_lag_monitor_reports_a_blocked_loop() -> None:
    """A loop blocked for 60 ms makes the next timer fire ~60 ms late, and that is observed."""
    seen: list[float] = []
    monitor = LoopLagMonitor(seen.append, period_s=0.02)
    monitor.start()
    await asyncio.sleep(0.005)
    time.sleep(0.06)  # noqa: ASYNC251  (blocking the loop is the point)
    await asyncio.sleep(0.05)
    await monitor.stop()
    assert seen
    assert max(seen) >= 0.03
