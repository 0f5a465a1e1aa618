"""Frame access: the pointer fast path and the SWIG slow path agree on real pjsua2 objects."""

from __future__ import annotations

import pjsua2 as pj
import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from gateway.adapters.sip import bytevec
from gateway.adapters.sip.bytevec import (
    FAST,
    SLOW,
    FrameAccess,
    FrameAccessError,
    check_fast_access,
    select_frame_access,
    slow_access,
)

FRAME = 320


@pytest.fixture(scope="module")
def fast() -> FrameAccess:
    return check_fast_access(FRAME)


def received_frame(data: bytes) -> pj.MediaFrame:
    """A frame as pjsua2 hands it to onFrameReceived: type audio, buf filled."""
    frame = pj.MediaFrame()
    frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
    frame.buf = pj.ByteVector(data)
    frame.size = len(data)
    return frame


def requested_frame() -> pj.MediaFrame:
    """A frame as pjsua2 hands it to onFrameRequested: empty buf, size = capacity."""
    frame = pj.MediaFrame()
    frame.size = FRAME
    return frame


def test_self_test_passes_on_this_build(fast: FrameAccess) -> None:
    """The installed pjsua2 wheel has the layout the fast path expects."""
    assert fast.name == FAST


@given(st.binary(min_size=0, max_size=2048))
def test_fast_read_equals_slow_read(data: bytes) -> None:
    """Reading any frame by pointer gives exactly what bytes(frame.buf) gives."""
    fast = check_fast_access(FRAME)
    frame = received_frame(data)
    assert fast.read(frame) == slow_access().read(frame) == data


@given(st.binary(min_size=FRAME, max_size=FRAME))
def test_fast_write_equals_slow_write(data: bytes) -> None:
    """Writing a frame through the owned vector fills frame.buf and marks it audio."""
    fast_frame, slow_frame = requested_frame(), requested_frame()
    check_fast_access(FRAME).writer(FRAME)(fast_frame, data)
    slow_access().writer(FRAME)(slow_frame, data)
    for frame in (fast_frame, slow_frame):
        assert bytes(frame.buf) == data
        assert frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO


def test_one_writer_serves_many_frames(fast: FrameAccess) -> None:
    """A writer reuses its vector: earlier frames keep their own copy of their bytes."""
    write = fast.writer(FRAME)
    first, second = requested_frame(), requested_frame()
    write(first, b"\x01" * FRAME)
    write(second, b"\x02" * FRAME)
    assert bytes(first.buf) == b"\x01" * FRAME
    assert bytes(second.buf) == b"\x02" * FRAME


def test_fast_writer_refuses_a_frame_of_another_size(fast: FrameAccess) -> None:
    """A writer made for 320 bytes raises on 319 (the port counts it as an error)."""
    with pytest.raises(ValueError):
        fast.writer(FRAME)(requested_frame(), b"\x00" * 319)


def test_select_logs_the_fast_path() -> None:
    """On this build the selection logs frame_access_selected with path=fast."""
    with capture_logs() as logs:
        access = select_frame_access(FRAME)
    assert access.name == FAST
    assert logs == [{"event": "frame_access_selected", "path": FAST, "log_level": "info"}]


def test_select_falls_back_when_the_self_test_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing self-test gives the slow path, and a warning that says why."""

    def broken(frame_bytes: int) -> FrameAccess:
        raise FrameAccessError("vector pointers do not fit")

    monkeypatch.setattr(bytevec, "check_fast_access", broken)
    with capture_logs() as logs:
        access = select_frame_access(FRAME)
    assert access.name == SLOW
    assert logs[0]["log_level"] == "warning"
    assert "vector pointers do not fit" in logs[0]["reason"]
    frame = received_frame(b"\x05" * FRAME)
    assert access.read(frame) == b"\x05" * FRAME


def test_select_can_be_told_to_use_the_slow_path() -> None:
    """allow_fast=False skips the self-test and uses the slow path."""
    assert select_frame_access(FRAME, allow_fast=False).name == SLOW


def test_self_test_rejects_a_wrong_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the vector's pointers disagree with size() the self-test fails before reading data."""
    monkeypatch.setattr(bytevec, "_vector_pointers", lambda address: (16, 8, 4))
    with pytest.raises(FrameAccessError, match="do not fit"):
        check_fast_access(FRAME)


def test_self_test_rejects_reads_of_the_wrong_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A buf offset that points at the wrong member fails before any data is read."""
    monkeypatch.setattr(bytevec, "_buf_offset", lambda: 0)
    with pytest.raises(FrameAccessError, match="does not hold a vector"):
        check_fast_access(FRAME)
