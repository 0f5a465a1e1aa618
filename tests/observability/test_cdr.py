"""CDR files: one JSON line per call plus a transcript file, safe to share between processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.core.call import CallRecord
from gateway.observability.cdr import CdrWriter
from tests.conftest import REPO

EPOCH = 1_736_155_800.0  # 2025-01-06T09:30:00Z


def _record(call_id: str = "call-1") -> CallRecord:
    record = CallRecord(call_id, "sip", caller="+441234", dialed="100", outcome="completed")
    record.mark("invite", 10.0)
    record.mark("answer", 10.5)
    record.mark("end", 40.5)
    return record


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_writes_a_cdr_line_and_a_transcript(tmp_path: Path) -> None:
    """One JSON line in cdr.jsonl and ``role: text`` lines in transcripts/<call_id>.txt."""
    writer = CdrWriter(tmp_path / "cdr")
    transcript = [("user", "What are your hours?"), ("assistant", "Nine to six, émigré.")]
    cdr = writer.write(_record(), transcript, clock_offset=EPOCH - 10.0)
    transcript_path = tmp_path / "cdr" / "transcripts" / "call-1.txt"
    assert transcript_path.read_text(encoding="utf-8") == (
        "user: What are your hours?\nassistant: Nine to six, émigré.\n"
    )
    assert _lines(tmp_path / "cdr" / "cdr.jsonl") == [cdr]
    assert cdr["transcript_file"] == str(transcript_path)
    assert cdr["call_id"] == "call-1"
    assert cdr["talk_s"] == 30.0
    assert cdr["ms_since_invite"] == {"invite": 0, "answer": 500, "end": 30500}


def test_times_are_iso_wall_clock_with_milliseconds(tmp_path: Path) -> None:
    """``clock_offset`` turns the record's monotonic times into UTC ISO times."""
    cdr = CdrWriter(tmp_path).write(_record(), [], clock_offset=EPOCH - 10.0)
    assert cdr["times"] == {
        "invite": "2025-01-06T09:30:00.000+00:00",
        "answer": "2025-01-06T09:30:00.500+00:00",
        "end": "2025-01-06T09:30:30.500+00:00",
    }


def test_empty_transcript_gives_an_empty_file(tmp_path: Path) -> None:
    """A call where nobody spoke (rejected, failed) still leaves an (empty) transcript file."""
    writer = CdrWriter(tmp_path)
    writer.write(CallRecord("rejected-1", "sip", outcome="rejected"), [], clock_offset=0.0)
    assert (tmp_path / "transcripts" / "rejected-1.txt").read_text() == ""
    assert _lines(tmp_path / "cdr.jsonl")[0]["outcome"] == "rejected"


def test_lines_are_appended(tmp_path: Path) -> None:
    """Each call appends a line; earlier lines (and a second writer's) are kept."""
    CdrWriter(tmp_path).write(_record("a"), [], clock_offset=0.0)
    CdrWriter(tmp_path).write(_record("b"), [], clock_offset=0.0)
    assert [line["call_id"] for line in _lines(tmp_path / "cdr.jsonl")] == ["a", "b"]


@pytest.mark.parametrize(
    ("call_id", "prefix"),
    [
        ("../../etc/passwd", "______etc_passwd-"),
        ("a/b\\c", "a_b_c-"),
        ("abc@10.0.0.1:5060", "abc_10_0_0_1_5060-"),
        ("x y\nz\x00", "x_y_z_-"),
        ("", "call-"),
        ("call_01-OK", "call_01-OK.txt"),
    ],
)
def test_odd_call_ids_give_safe_file_names(tmp_path: Path, call_id: str, prefix: str) -> None:
    """Unsafe characters become ``_`` plus a hash of the id; the file stays in transcripts/;
    an id that is already safe is the file name as is."""
    cdr = CdrWriter(tmp_path).write(_record(call_id), [("user", "hi")], clock_offset=0.0)
    path = Path(str(cdr["transcript_file"]))
    assert path.name.startswith(prefix)
    assert path.resolve().parent == (tmp_path / "transcripts").resolve()
    assert path.read_text() == "user: hi\n"
    assert _lines(tmp_path / "cdr.jsonl")[0]["call_id"] == call_id


def test_ids_that_clean_up_alike_get_different_files(tmp_path: Path) -> None:
    """'a/b' and 'a_b' must not overwrite each other's transcript; long ids stay short."""
    writer = CdrWriter(tmp_path)
    names = {
        Path(
            str(writer.write(_record(cid), [("user", cid)], clock_offset=0.0)["transcript_file"])
        ).name
        for cid in ("a/b", "a_b", "a:b", "x" * 300)
    }
    assert len(names) == 4
    assert all(len(n) < 120 for n in names)


LINES_PER_WORKER = 40
PAD = 20_000  # long lines: several pages each, so torn writes would show

WORKER = f"""
import sys
from gateway.core.call import CallRecord
from gateway.observability.cdr import CdrWriter
from tests.conftest import REPO

directory, worker = sys.argv[1], sys.argv[2]
writer = CdrWriter(directory)
for n in range({LINES_PER_WORKER}):
    record = CallRecord(f"w{{worker}}-{{n}}", "sip")
    record.errors.append(worker * {PAD})
    writer.write(record, [], clock_offset=0.0)
"""


def test_several_processes_never_interleave_lines(tmp_path: Path) -> None:
    """Lines appended at once by several worker processes are each whole and all present."""
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), str(w)], cwd=REPO)
        for w in range(4)
    ]
    assert [process.wait(30) for process in workers] == [0, 0, 0, 0]
    lines = _lines(tmp_path / "cdr.jsonl")
    assert len(lines) == 4 * LINES_PER_WORKER
    assert {line["call_id"] for line in lines} == {
        f"w{w}-{n}" for w in range(4) for n in range(LINES_PER_WORKER)
    }
    for line in lines:
        worker = str(line["call_id"])[1]
        assert line["errors"] == [worker * PAD]
