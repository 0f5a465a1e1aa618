"""CallMediaPort callbacks on real pjsua2 frames, called as pjmedia's clock thread calls them.

The port is not registered with a conference bridge here (that needs a running endpoint and is
covered by test_call_audio.py); its callbacks are plain methods SWIG would call.
"""

from __future__ import annotations

import pjsua2 as pj
import pytest

from gateway.adapters.sip.bytevec import FrameAccess, check_fast_access, slow_access
from gateway.adapters.sip.media import FRAME_BYTES, SILENCE, PlayoutRing, UplinkQueue
from gateway.adapters.sip.port import CallMediaPort, media_format


@pytest.fixture(params=["fast", "slow"])
def access(request: pytest.FixtureRequest) -> FrameAccess:
    return check_fast_access(FRAME_BYTES) if request.param == "fast" else slow_access()


def make_port(access: FrameAccess) -> CallMediaPort:
    return CallMediaPort(UplinkQueue(), PlayoutRing(), access)


def test_received_frames_go_to_the_uplink(access: FrameAccess) -> None:
    """onFrameReceived puts the frame's exact bytes into the uplink queue."""
    port = make_port(access)
    data = bytes(range(256)) + bytes(range(64))
    frame = pj.MediaFrame()
    frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
    frame.buf = pj.ByteVector(data)
    port.onFrameReceived(frame)
    assert port.uplink.drain() == [data]


def test_requested_frames_come_from_the_ring(access: FrameAccess) -> None:
    """onFrameRequested fills the frame from the ring, then with silence when it is dry."""
    port = make_port(access)
    port.ring.push(b"\x07" * FRAME_BYTES, "item_1", 160)
    first, second = pj.MediaFrame(), pj.MediaFrame()
    port.onFrameRequested(first)
    port.onFrameRequested(second)
    assert bytes(first.buf) == b"\x07" * FRAME_BYTES
    assert bytes(second.buf) == SILENCE
    assert first.type == second.type == pj.PJMEDIA_FRAME_TYPE_AUDIO
    assert port.ring.take_played() == {"item_1": 160}


def test_callback_errors_are_counted_not_raised(access: FrameAccess) -> None:
    """An exception inside a callback never reaches SWIG/C++ (it would abort the process)."""
    port = make_port(access)

    def broken() -> bytes:
        raise RuntimeError("ring broke")

    port._next = broken
    port.onFrameRequested(pj.MediaFrame())
    port.onFrameReceived(object())  # not a frame at all
    assert port.errors == 2


def test_media_format_is_8khz_20ms_mono_pcm16() -> None:
    """The port's format matches what the buffers hold: 160 samples of 16 bits at 8 kHz."""
    fmt = media_format()
    assert (fmt.clockRate, fmt.channelCount, fmt.frameTimeUsec, fmt.bitsPerSample) == (
        8000,
        1,
        20000,
        16,
    )
