"""A real call between two pjsua2 processes carries each side's tone to the other.

Both sides run the adapter's media path: pjmedia clock thread -> CallMediaPort -> UplinkQueue
drained on the asyncio timeline, and PlayoutRing -> CallMediaPort -> RTP. The answering probe
plays 440 Hz, the caller 600 Hz; each records what it hears and reports the energy share at the
other's frequency (Goertzel; 1.0 is a clean tone).
"""

from __future__ import annotations

from tests.adapters.sip.conftest import Peers

ANSWER_HZ = 440
CALLER_HZ = 600


async def test_tones_cross_a_real_call_in_both_directions(peers: Peers) -> None:
    """Caller hears the answerer's 440 Hz, answerer hears the caller's 600 Hz, nothing lost."""
    answerer = await peers.start("answer", "--tone", str(ANSWER_HZ), "--expect", str(CALLER_HZ))
    to = f"sip:voicegw@127.0.0.1:{answerer.port}"
    caller = await peers.start(
        "call", "--to", to, "--tone", str(CALLER_HZ), "--expect", str(ANSWER_HZ), "--seconds", "1.5"
    )
    assert await caller.finish() == 0, caller.output()
    assert await answerer.finish() == 0, answerer.output()

    for peer, heard_hz in ((caller, ANSWER_HZ), (answerer, CALLER_HZ)):
        rx = peer.first("result")["rx"]
        assert rx["seconds"] >= 1.0, peer.output()
        assert rx["share"][str(heard_hz)] > 0.9, rx
        assert abs(rx["zero_cross_hz"] - heard_hz) < heard_hz * 0.05, rx
        assert rx["rms"] > 3000, rx  # the tone is sent at amplitude 8000 (rms ~5650)
        counters = peer.first("media_counters")
        assert counters["port_errors"] == 0
        assert counters["uplink"]["dropped"] == 0
        assert counters["uplink"]["received"] >= 70  # ~1.5 s of 20 ms frames
        assert counters["playout"]["played"] >= 70
        assert counters["playout"]["underruns"] == 0
        assert peer.first("ready")["access"] == "fast"
