"""The call journal: a worker reports live calls on a pipe; the supervisor records the calls of
a worker that died as failed CDRs, and only those."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gateway.app.worker_calls import SUPERVISOR_FD_ENV, CallJournal, LiveCalls
from gateway.core.call import CallRecord
from gateway.observability.cdr import CdrWriter


def _record(call_id: str) -> CallRecord:
    return CallRecord(call_id, "sip", caller="alice", dialed="100", sip_call_id=f"{call_id}@x")


def _lines(fd: int) -> list[bytes]:
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 65536).splitlines()
    except BlockingIOError:
        return []


def test_journal_lines_reach_the_supervisor_and_unfinished_calls_fail(tmp_path: Path) -> None:
    """Two calls start, one ends: when the worker dies, the other gets a 'failed' CDR naming
    the reason, with its caller, dialed number and SIP Call-ID."""
    read_fd, write_fd = os.pipe()
    journal = CallJournal(write_fd)
    journal.started(_record("c1"))
    journal.started(_record("c2"))
    journal.ended("c1")
    written: list[dict[str, object]] = []
    live = LiveCalls(CdrWriter(tmp_path, on_write=written.append))
    for line in _lines(read_fd):
        live.feed(3, line)
    assert live.live(3) == ["c2"]
    cdrs = live.fail_all(3, "worker 3 exited (killed by SIGKILL) during the call")
    assert [c["call_id"] for c in cdrs] == ["c2"]
    cdr = cdrs[0]
    assert cdr["outcome"] == "failed"
    assert cdr["errors"] == ["worker 3 exited (killed by SIGKILL) during the call"]
    assert (cdr["caller"], cdr["dialed"], cdr["sip_call_id"]) == ("alice", "100", "c2@x")
    assert written == cdrs
    line = (tmp_path / "cdr.jsonl").read_text().splitlines()[0]
    assert json.loads(line)["call_id"] == "c2"
    assert live.live(3) == []
    os.close(read_fd)
    os.close(write_fd)


def test_no_supervisor_means_no_journal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without VOICEGW_SUPERVISOR_FD the journal does nothing (a plain voicegw serve)."""
    monkeypatch.delenv(SUPERVISOR_FD_ENV, raising=False)
    journal = CallJournal.from_env()
    journal.started(_record("c1"))
    assert journal.lost == 0


def test_a_full_pipe_drops_lines_instead_of_blocking(tmp_path: Path) -> None:
    """A supervisor that stopped reading cannot stall the worker's event loop."""
    read_fd, write_fd = os.pipe()
    journal = CallJournal(write_fd)
    for n in range(10_000):
        journal.started(_record(f"call-{n}"))
    assert journal.lost > 0
    os.close(read_fd)
    os.close(write_fd)


def test_malformed_lines_are_ignored(tmp_path: Path) -> None:
    """Garbage on the pipe does not break the supervisor's bookkeeping."""
    live = LiveCalls(CdrWriter(tmp_path))
    live.feed(0, b"not json\n")
    live.feed(0, b'{"event": "start"}\n')
    assert live.live(0) == []
    assert live.fail_all(0, "gone") == []
