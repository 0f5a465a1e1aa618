"""OpenAI Realtime call control over REST: accept, reject, refer, hangup a SIP call.

Each is ``POST {api_base}/realtime/calls/{call_id}/{action}`` with ``Authorization: Bearer``
and an empty answer (protocol brief §5.4):

* ``accept``: the session object (``type: "realtime"`` required) the call runs with;
* ``reject``: ``{"status_code": 486}`` (OpenAI's default is 603 Decline);
* ``refer``: ``{"target_uri": "sip:..." | "tel:..."}``, sent as the REFER's Refer-To;
* ``hangup``: no body.

A 404 is :class:`CallNotFound`: the caller hung up or the call already ended (a webhook retry
after hang-up gets it on accept). Callers treat it as a no-op, not a failure. Every other
failure is a :class:`CallControlError` with the HTTP status (0 when no answer came).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import structlog

from gateway.adapters.http_client import HttpClientError, request
from gateway.errors import ConfigError, ConfigIssue, GatewayError

__all__ = ["DEFAULT_API_BASE", "CallControl", "CallControlError", "CallNotFound"]

DEFAULT_API_BASE = "https://api.openai.com/v1"

log = structlog.get_logger()


class CallControlError(GatewayError):
    """A call-control request failed; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, action: str, status: int, message: str) -> None:
        super().__init__(f"{action}: {status or 'no answer'}: {message}")
        self.action = action
        self.status = status


class CallNotFound(CallControlError):
    """404: the call is unknown or has ended (for instance the caller already hung up)."""


class CallControl:
    """REST call control for one OpenAI project (the API key picks the project)."""

    def __init__(
        self,
        api_base: str = DEFAULT_API_BASE,
        api_key: str | Callable[[], str] | None = None,
        *,
        timeout_s: float = 10.0,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self._api_key = api_key
        self._timeout_s = timeout_s

    async def accept(self, call_id: str, session: Mapping[str, Any]) -> None:
        """Answer the call with ``session`` (the GA session object, formats omitted)."""
        await self._post(call_id, "accept", dict(session))

    async def reject(self, call_id: str, status_code: int = 603) -> None:
        await self._post(call_id, "reject", {"status_code": status_code})

    async def refer(self, call_id: str, target_uri: str) -> None:
        await self._post(call_id, "refer", {"target_uri": target_uri})

    async def hangup(self, call_id: str) -> None:
        await self._post(call_id, "hangup", None)

    def _key(self) -> str:
        key = self._api_key() if callable(self._api_key) else self._api_key
        key = key or os.environ.get("OPENAI_API_KEY", "")
        if not key:
            issue = ConfigIssue("call control", None, "", "no API key: set OPENAI_API_KEY")
            raise ConfigError([issue])
        return key

    async def _post(self, call_id: str, action: str, body: dict[str, Any] | None) -> None:
        url = f"{self.api_base}/realtime/calls/{quote(call_id, safe='')}/{action}"
        headers = {"authorization": f"Bearer {self._key()}", "accept": "*/*"}
        data = b""
        if body is not None:
            headers["content-type"] = "application/json"
            data = json.dumps(body, separators=(",", ":")).encode()
        started = time.monotonic()
        try:
            answer = await request(
                "POST", url, headers=headers, body=data, timeout_s=self._timeout_s
            )
        except HttpClientError as exc:
            log.warning("call_control_failed", action=action, error=str(exc))
            raise CallControlError(action, 0, str(exc)) from None
        ms = round((time.monotonic() - started) * 1000)
        log.info("call_control_sent", action=action, status=answer.status, ms=ms)
        if 200 <= answer.status < 300:
            return
        message = _error_message(answer.body)
        if answer.status == 404:
            raise CallNotFound(action, 404, message)
        raise CallControlError(action, answer.status, message)


def _error_message(body: bytes) -> str:
    """OpenAI's ``{"error": {"message": ...}}``, or the start of whatever came."""
    try:
        error = json.loads(body).get("error") or {}
        return str(error.get("message") or "")
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace")
