"""Prometheus metrics of one gateway process (``GET /metrics``, text format).

Where the numbers come from, so the hot paths pay nothing for them:

* **one hook per call**: :meth:`GatewayMetrics.call_finished` reads the CDR as it is written
  (outcome, setup time, first agent audio, frames, drops, barge-ins, DTMF, handoffs, tools,
  guardrail trips, transfer, reconnects). Refused calls have CDRs too, so they are counted.
* **active calls**: a gauge read at scrape time from the gateway's table of live calls.
* **media timing**: the process's :class:`~gateway.adapters.sip.media.MediaStats` histograms
  (added latency per direction, cut to silence), filled by the media buffers themselves and
  exported by a collector at scrape time.
* **event-loop lag**: :class:`LoopLagMonitor` sleeps one second at a time and records how late
  it woke (one wakeup a second: nothing next to an idle pjsua2 endpoint).

Several worker processes are summed by the supervisor (:mod:`gateway.observability.metrics_merge`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

from gateway.adapters.sip.media import PROCESS_MEDIA_STATS, MediaStats
from gateway.core.latency import LatencyHistogram

__all__ = ["CALLS_HELP", "CONTENT_TYPE", "GatewayMetrics", "LoopLagMonitor", "MediaCollector"]

# ``*_created`` series double the output and mean nothing once summed over workers.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus-client

CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST
CALLS_HELP = "Finished calls by outcome (refused ones included)."
_SETUP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15)
_AUDIO_BUCKETS = (0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10)
_LAG_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1)


class GatewayMetrics:
    """The metrics of one gateway process, in their own registry."""

    def __init__(
        self, *, active_calls: Callable[[], int], media: MediaStats = PROCESS_MEDIA_STATS
    ) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        Gauge("voicegw_calls_active", "Calls in progress.", registry=r).set_function(
            lambda: float(active_calls())
        )
        self.calls = Counter("voicegw_calls", CALLS_HELP, ["outcome"], registry=r)
        self.setup = Histogram(
            "voicegw_call_setup_seconds",
            "INVITE received to 200 OK sent.",
            buckets=_SETUP_BUCKETS,
            registry=r,
        )
        self.first_audio = Histogram(
            "voicegw_first_agent_audio_seconds",
            "200 OK sent to the agent's first frame played.",
            buckets=_AUDIO_BUCKETS,
            registry=r,
        )
        self.frames = Counter(
            "voicegw_frames",
            "20 ms frames: in = from the caller, out = played to the caller.",
            ["direction"],
            registry=r,
        )
        self.dropped = Counter(
            "voicegw_frames_dropped",
            "Frames dropped: in = uplink queue full, out = playout ring full.",
            ["direction"],
            registry=r,
        )
        self.late = Counter(
            "voicegw_frames_late",
            "Ticks that found no agent audio while more was expected (gaps in speech).",
            registry=r,
        )
        self.barge_ins = Counter("voicegw_barge_ins", "Caller spoke over the agent.", registry=r)
        self.dtmf = Counter("voicegw_dtmf_digits", "DTMF digits received.", registry=r)
        self.handoffs = Counter("voicegw_handoffs", "Agent-to-agent handoffs.", registry=r)
        self.tools = Counter(
            "voicegw_tool_calls", "Tool calls by result (ok, failed).", ["result"], registry=r
        )
        self.trips = Counter("voicegw_guardrail_trips", "Output guardrail trips.", registry=r)
        self.transfers = Counter(
            "voicegw_transfers", "Transfers by outcome (ok, failed).", ["outcome"], registry=r
        )
        self.reconnects = Counter(
            "voicegw_realtime_reconnects", "Realtime sessions re-established.", registry=r
        )
        self.loop_lag = Histogram(
            "voicegw_event_loop_lag_seconds",
            "How late a 1 s timer fired on the event loop.",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        r.register(MediaCollector(media))
        self.lag_monitor = LoopLagMonitor(self.loop_lag.observe)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return prometheus_client.generate_latest(self.registry)

    def call_finished(self, cdr: Mapping[str, Any]) -> None:
        """Count one call from its CDR (the only per-call hook)."""
        self.calls.labels(outcome=str(cdr.get("outcome") or "ended")).inc()
        ms: Mapping[str, int] = cdr.get("ms_since_invite") or {}
        if "answer" in ms:
            self.setup.observe(ms["answer"] / 1000)
            if "first_agent_audio" in ms:
                self.first_audio.observe(max(0, ms["first_agent_audio"] - ms["answer"]) / 1000)
        counters: Mapping[str, int] = cdr.get("counters") or {}
        for counter, key in self._counted(counters):
            counter.inc(counters.get(key, 0))
        self.handoffs.inc(max(0, len(cdr.get("agents") or []) - 1))
        for tool in cdr.get("tools") or []:
            self.tools.labels(result="ok" if tool.get("ok") else "failed").inc()
        transfer = cdr.get("transfer")
        if transfer:
            self.transfers.labels(outcome="ok" if transfer.get("ok") else "failed").inc()

    def _counted(self, counters: Mapping[str, int]) -> Iterator[tuple[Counter, str]]:
        yield self.frames.labels(direction="in"), "frames_in"
        yield self.frames.labels(direction="out"), "frames_out"
        yield self.dropped.labels(direction="in"), "frames_in_dropped"
        yield self.dropped.labels(direction="out"), "frames_out_dropped"
        yield self.late, "underruns"
        yield self.barge_ins, "barge_ins"
        yield self.dtmf, "dtmf_digits"
        yield self.trips, "guardrail_trips"
        yield self.reconnects, "realtime_reconnects"


class MediaCollector(Collector):
    """Exports the media buffers' histograms (read at scrape time, no per-frame cost here)."""

    def __init__(self, stats: MediaStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[HistogramMetricFamily]:
        added = HistogramMetricFamily(
            "voicegw_added_latency_seconds",
            "Time a 20 ms frame spends inside the gateway: uplink = frame from pjmedia to its "
            "append sent; downlink = model audio received to frame pulled by pjmedia, from the "
            "earliest moment it could have played.",
            labels=["direction"],
        )
        _add(added, ["uplink"], self._stats.uplink)
        _add(added, ["downlink"], self._stats.downlink)
        yield added
        cut = HistogramMetricFamily(
            "voicegw_cut_to_silence_seconds",
            "Agent audio flushed (barge-in, guardrail) to the next frame handed to pjmedia.",
        )
        _add(cut, [], self._stats.cut_to_silence)
        yield cut

    def describe(self) -> Iterator[HistogramMetricFamily]:
        return iter(())


def _add(family: HistogramMetricFamily, labels: list[str], hist: LatencyHistogram) -> None:
    counts, total = hist.snapshot()
    buckets: list[tuple[str, float]] = []
    running = 0
    for bound, count in zip((*hist.bounds, float("inf")), counts, strict=True):
        running += count
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
    family.add_metric(labels, buckets, total)


class LoopLagMonitor:
    """Once a second, how late the event loop ran a timer (``observe(seconds)``)."""

    def __init__(self, observe: Callable[[float], None], period_s: float = 1.0) -> None:
        self._observe = observe
        self._period = period_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self._period
            await asyncio.sleep(self._period)
            self._observe(max(0.0, loop.time() - due))
