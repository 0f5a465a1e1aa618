"""The emulator's REST calls API: ``POST /v1/realtime/calls/{call_id}/accept|reject|refer|hangup``.

As OpenAI's (protocol brief §5.4): ``Authorization: Bearer <key>`` required (any key: 401 with
OpenAI's message without one), JSON bodies, an empty 200 on success, OpenAI's error object on
failure (400 bad body, 404 unknown or finished call, 409 a request the call's state does not
allow; see :mod:`gateway.emulator.sip_calls`). ``hangup`` takes no body.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from gateway.adapters.http_server import Request, Response, Route
from gateway.emulator.sip_calls import ApiError, error_body
from gateway.observability.logging import get_logger

if TYPE_CHECKING:
    from gateway.emulator.sip_front import SipFront

__all__ = ["calls_routes"]

PREFIX = "/v1/realtime/calls/{call_id}/"
NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)

Operation = Callable[[str, Any], Awaitable[ApiError | None]]


def calls_routes(front: SipFront) -> dict[tuple[str, str], Route]:
    """The four call-control routes, acting on ``front``'s calls."""
    operations: dict[str, Operation] = {
        "accept": front.accept,
        "reject": front.reject,
        "refer": front.refer,
        "hangup": front.hangup,
    }
    return {
        ("POST", PREFIX + action): _route(front, action, operation)
        for action, operation in operations.items()
    }


def _route(front: SipFront, action: str, operation: Operation) -> Route:
    async def handle(request: Request) -> Response:
        call_id = request.params["call_id"]
        refused = _authorised(request)
        body = _body(request) if refused is None else refused
        error = body if isinstance(body, ApiError) else await operation(call_id, body)
        status = error.status if error is not None else 200
        call = front.calls.get(call_id)
        if call is not None:
            call.ops.append((action, status))
        get_logger(component="emulator").info(
            "call_control_received", call_id=call_id, action=action, status=status
        )
        if error is None:
            return Response(200, b"", "application/json")
        return Response(error.status, error_body(error), "application/json")

    return handle


def _authorised(request: Request) -> ApiError | None:
    auth = request.headers.get("authorization", "")
    if auth.startswith("Bearer ") and auth.removeprefix("Bearer ").strip():
        return None
    return ApiError(401, NO_KEY, None)


def _body(request: Request) -> Any:
    """The parsed JSON body (None when empty), or a 400."""
    if not request.body.strip():
        return None
    try:
        return json.loads(request.body)
    except ValueError:
        return ApiError(400, "We could not parse the JSON body of your request.", None)
