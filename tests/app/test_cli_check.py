"""``voicegw check`` through the installed console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

VOICEGW = str(Path(sys.executable).with_name("voicegw"))
DATA = Path(__file__).resolve().parents[1] / "data" / "graphs"


def _check(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VOICEGW, "check", *args], capture_output=True, text=True, timeout=60, check=False, cwd=cwd
    )


def test_shipped_graphs_check_clean_and_print_the_graph(repo: Path) -> None:
    """Exit 0 and a summary naming agents, handoff edges, tools and routes."""
    done = _check("agents_config/front_desk.yaml", "agents_config/call_center.yaml", cwd=repo)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "agents_config/front_desk.yaml: ok (front-desk)" in out
    assert "agents_config/call_center.yaml: ok (call-center)" in out
    assert "    triage -> billing" in out
    assert "    billing -> triage" in out
    assert "    get_hours: python gateway.tools.front_desk:get_hours timeout=3s" in out
    assert "    default -> triage" in out
    assert "    dialed=^(\\+?44)?8001001$ -> billing" in out
    assert done.stderr == ""


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bad_yaml.yaml", ["bad_yaml.yaml:5: invalid YAML: found unexpected end of stream"]),
        (
            "unknown_handoff.yaml",
            [
                "unknown_handoff.yaml:4: agents[0].handoffs[0]: unknown agent 'billing' "
                "(known: triage)"
            ],
        ),
        (
            "missing_tool.yaml",
            [
                "missing_tool.yaml:7: agents[0].tools[1]: unknown tool 'get_weather' "
                "(known: end_call, get_hours, transfer_call)"
            ],
        ),
        (
            "wrong_type.yaml",
            [
                "wrong_type.yaml:2: phone.max_call_duration_s: Input should be a valid integer, "
                "unable to parse string as an integer"
            ],
        ),
        (
            "bad_import.yaml",
            [
                "bad_import.yaml:3: tools[0].python: module 'gateway.tools.front_desk' has no "
                "'no_such_function'",
                "bad_import.yaml:5: tools[1].python: cannot import module "
                "'voicegw_missing_module': No module named 'voicegw_missing_module'",
            ],
        ),
    ],
)
def test_broken_graphs_exit_2_with_file_line_messages(name: str, expected: list[str]) -> None:
    """Each broken file gives exit 2 and one FILE:LINE: message per problem on stderr."""
    done = _check(name, cwd=DATA)
    assert done.returncode == 2
    assert done.stderr.splitlines() == expected
    assert done.stdout == ""


def test_one_bad_file_fails_the_run_but_all_are_checked(repo: Path) -> None:
    """With several files, good ones still print and the exit status reports the bad one."""
    done = _check(str(DATA / "missing_tool.yaml"), "agents_config/front_desk.yaml", cwd=repo)
    assert done.returncode == 2
    assert "front_desk.yaml: ok" in done.stdout
    assert "unknown tool 'get_weather'" in done.stderr


def test_no_imports_skips_python_resolution() -> None:
    """--no-imports validates structure without importing user code."""
    assert _check("--no-imports", "bad_import.yaml", cwd=DATA).returncode == 0


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    """A missing file is reported, not a traceback."""
    done = _check(str(tmp_path / "nope.yaml"))
    assert done.returncode == 2
    assert done.stderr.startswith(f"{tmp_path / 'nope.yaml'}: cannot read file:")
    assert "Traceback" not in done.stderr
