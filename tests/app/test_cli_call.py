"""``voicegw call``: flags that are checked before any call is placed."""

from __future__ import annotations

import argparse

import pytest

from gateway.app.cli_call import add_call_command, run_call


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_call_command(parser.add_subparsers())
    return parser.parse_args(["call", "sip:100@127.0.0.1:9", *argv])


def test_auth_user_needs_its_password_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--auth-user without VOICEGW_CALL_AUTH_PASSWORD is a usage error (exit 2) before any
    call; the user may also come from VOICEGW_CALL_AUTH_USER."""
    monkeypatch.delenv("VOICEGW_CALL_AUTH_PASSWORD", raising=False)
    assert run_call(_args("--auth-user", "pbx")) == 2
    assert "VOICEGW_CALL_AUTH_PASSWORD" in capsys.readouterr().err
    monkeypatch.setenv("VOICEGW_CALL_AUTH_USER", "from-env")
    assert _args().auth_user == "from-env"
