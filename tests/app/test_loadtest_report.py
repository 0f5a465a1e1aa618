"""Reading a load run: INVITE final codes from SIPp's trace, percentiles from /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from gateway.app.loadtest_report import LoadReport, histogram, invite_final_codes, percentiles_ms

TRACE = """
----------------------------------------------- 2026-11-23 14:39:41.350000
UDP message sent (600 bytes):

INVITE sip:100@127.0.0.1:5060 SIP/2.0
CSeq: 1 INVITE

----------------------------------------------- 2026-11-23 14:39:41.355720
UDP message received [300] bytes :

SIP/2.0 100 Trying
CSeq: 1 INVITE

----------------------------------------------- 2026-11-23 14:39:41.355720
UDP message received [845] bytes :

SIP/2.0 200 OK
CSeq: 1 INVITE

----------------------------------------------- 2026-11-23 14:39:41.355720
UDP message received [300] bytes :

SIP/2.0 503 All Workers Busy
Retry-After: 30
CSeq: 1 INVITE

----------------------------------------------- 2026-11-23 14:39:49.000000
UDP message received [300] bytes :

SIP/2.0 200 OK
CSeq: 2 BYE
"""


def test_only_final_answers_to_invite_that_sipp_received_are_counted() -> None:
    """100 Trying and the 200 to BYE are not call outcomes; 200 and 503 to INVITE are."""
    assert invite_final_codes(TRACE) == {200: 1, 503: 1}


def _metrics() -> str:
    r = CollectorRegistry()
    h = Histogram(
        "voicegw_added_latency_seconds", "x", ["direction"], buckets=(0.001, 0.005), registry=r
    )
    for _ in range(99):
        h.labels("uplink").observe(0.0008)
    h.labels("uplink").observe(0.004)
    return generate_latest(r).decode()


def test_percentiles_are_read_from_the_histogram_buckets() -> None:
    """p50 and p99 in ms, as bucket upper bounds, for the labels asked."""
    text = _metrics()
    assert histogram(text, "voicegw_added_latency_seconds", direction="uplink") == (
        [0.001, 0.005],
        [99, 1, 0],
    )
    q = percentiles_ms(text, "voicegw_added_latency_seconds", direction="uplink")
    assert (q["p50"], q["p99"]) == (1.0, 1.0)
    assert (
        percentiles_ms(text, "voicegw_added_latency_seconds", direction="downlink")["p99"] is None
    )


def test_verdicts_name_each_target() -> None:
    """A clean run within the latency targets but over the CPU target says exactly that."""
    report = LoadReport(calls=6, duration_s=20, workers=2, placed=6, succeeded=6)
    report.per_call_cpu_pct = 2.0
    report.bare_per_call_cpu_pct = 1.6
    report.latency_ms = {
        "uplink": {"p99": 4.0},
        "downlink": {"p99": 1.0},
        "cut_to_silence": {"p99": 20.0},
    }
    verdicts = dict(report.verdicts())
    assert verdicts["0 failed calls"]
    assert verdicts["0 dropped frames"]
    assert not verdicts["gateway <= 0.6 % of a core per call"]
    assert verdicts["p99 added latency <= 5.0 ms each way"]
    assert verdicts["barge-in to silence <= 40.0 ms (p99)"]
    assert verdicts["<= 1.3x bare pjsua2 CPU per call"]
    assert "ratio 1.25x" in report.render()


def test_the_report_says_how_the_load_generators_were_niced() -> None:
    niced = LoadReport(calls=6, duration_s=20, workers=2, load_nice=10)
    assert "(emulator and SIPp at nice 10)" in niced.render()
    assert niced.to_json()["load_nice"] == 10
    assert "at nice" not in LoadReport(calls=6, duration_s=20, workers=2).render()
