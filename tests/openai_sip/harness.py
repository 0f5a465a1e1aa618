"""Real processes for the OpenAI SIP transport: the emulated OpenAI side and ``voicegw openai-sip``.

Built on :mod:`tests.e2e.harness` (process start/stop, the ``voicegw call`` test caller, CDR
reading): the emulator runs with its SIP front (``--sip-port``), REST calls API and webhook
sender pointed at the gateway; the gateway has no SIP stack of its own. Both get the webhook
secret from the environment only.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from tests.e2e.harness import VOICEGW, Proc, Stack, free_port, running, start, wait_for

SECRET = "whsec_ZTJlLW9ubHktc2VjcmV0LWtleS1mb3Itb3BlbmFpLXNpcA=="
SECRET_KEY_PART = SECRET.removeprefix("whsec_")
PROJECT = "proj_e2e"
ENV = {"OPENAI_WEBHOOK_SECRET": SECRET}


class OpenAISipStack(Stack):
    """The emulated OpenAI side (SIP front + REST + WebSocket) and an OpenAI SIP gateway."""

    rest_port: int = 0
    ws_port: int = 0

    @property
    def gateway_uri(self) -> str:
        """What the carrier dials: the project's SIP URI at the emulated OpenAI endpoint."""
        return f"sip:{PROJECT}@127.0.0.1:{self.sip_port}"

    def start_both(
        self,
        graph: str,
        scenario: str,
        *,
        emulator: tuple[str, ...] = (),
        gateway: tuple[str, ...] = (),
    ) -> None:
        self.ws_port, self.rest_port = free_port(), free_port()
        self.sip_port, self.http_port = free_port(), free_port()
        (self.workdir / "graph.yaml").write_text(graph)
        (self.workdir / "scenario.yaml").write_text(scenario)
        gw_args = [
            VOICEGW, "--log-format", "json", "openai-sip",
            "--config", str(self.workdir / "graph.yaml"),
            "--http-port", str(self.http_port),
            "--realtime-url", f"ws://127.0.0.1:{self.ws_port}/v1/realtime",
            "--api-base", f"http://127.0.0.1:{self.rest_port}/v1",
            "--cdr-dir", str(self.workdir / "cdr"),
            "--drain-timeout", "2",
            *gateway,
        ]  # fmt: skip
        self.procs.append(start("gateway", gw_args, self.workdir, ENV))
        emu_args = [
            VOICEGW, "--log-format", "json", "emulator",
            "--port", str(self.ws_port),
            "--scenario", str(self.workdir / "scenario.yaml"),
            "--sip-port", str(self.sip_port),
            "--rest-port", str(self.rest_port),
            "--rtp-port", str(free_port()),
            "--rtp-port-range", "40",
            "--project-id", PROJECT,
            "--webhook-url", f"http://127.0.0.1:{self.http_port}/openai/webhook",
            "--webhook-retry-ms", "200",
            *emulator,
        ]  # fmt: skip
        self.procs.append(start("emulator", emu_args, self.workdir, ENV))
        for proc in self.procs:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited: {proc.text()[-2000:]}")
        wait_for(lambda: self.ready() is not None, 20, "the gateway to be ready")
        wait_for(lambda: "calls API http" in self.proc("emulator").text(), 20, "the SIP front")

    def proc(self, name: str) -> Proc:
        return next(p for p in self.procs if p.name == name)

    def events(self, name: str, event: str) -> list[dict[str, Any]]:
        """The named process's log events called ``event``."""
        return [e for e in self.proc(name).events() if e.get("event") == event]

    def cdr_of(self, summary: dict[str, Any], timeout: float = 15) -> dict[str, Any]:
        """The CDR of the test call that printed ``summary`` (matched by its SIP Call-ID)."""
        sip_call_id = summary["sip_call_id"]

        def found() -> list[dict[str, Any]]:
            return [c for c in self.cdrs() if c["sip_call_id"] == sip_call_id]

        wait_for(lambda: bool(found()), timeout, f"the CDR of {sip_call_id}")
        (cdr,) = found()
        return cdr

    def assert_secret_never_logged(self) -> None:
        """Neither process printed the webhook secret, or its key, anywhere in its log."""
        for proc in self.procs:
            text = proc.text()
            assert SECRET not in text and SECRET_KEY_PART not in text, proc.name


def openai_sip_stack(workdir: Path) -> contextlib.AbstractContextManager[OpenAISipStack]:
    return running(OpenAISipStack(workdir))


def sipp_uas(workdir: Path, sipp: str) -> tuple[Proc, int]:
    """A SIPp UAS answering one call (the transfer target)."""
    port = free_port()
    args = [sipp, "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-m", "1", "-nostdin"]
    return start("sipp-uas", args, workdir), port
