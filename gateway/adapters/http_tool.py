"""HTTP tools: a tool call becomes a request to the configured endpoint.

Arguments go as a JSON body (as the query string for GET and DELETE, non-string values
JSON-encoded). ``${ENV}`` references in
header values are expanded at call time from the process environment, so secrets never sit in
the graph file or in logs. A non-2xx answer or a network failure raises :class:`HttpToolError`,
which the runtime turns into an error result for the model.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from gateway.core.agents.spec import HttpToolSpec
from gateway.errors import GatewayError

__all__ = ["HttpToolError", "expand_env", "http_tool_invoker"]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MAX_BODY = 256 * 1024


class HttpToolError(GatewayError):
    """An HTTP tool endpoint failed or answered with an error status."""


def expand_env(value: str, environ: Mapping[str, str]) -> str:
    """Replace ``${NAME}`` with ``environ[NAME]``; a missing variable is an error."""

    def one(match: re.Match[str]) -> str:
        name = match[1]
        if name not in environ:
            raise HttpToolError(f"environment variable {name} is not set")
        return environ[name]

    return _ENV.sub(one, value)


def _request(spec: HttpToolSpec, args: dict[str, Any], timeout_s: float) -> Any:
    headers = {k: expand_env(v, os.environ) for k, v in spec.headers.items()}
    url, data = spec.url, None
    if spec.method in ("GET", "DELETE"):
        query = {k: v if isinstance(v, str) else json.dumps(v) for k, v in args.items()}
        url = f"{url}{'&' if '?' in url else '?'}{urlencode(query)}" if args else url
    else:
        data = json.dumps(args).encode()
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, headers=headers, method=spec.method)  # noqa: S310  (http(s) only: the spec's URL pattern)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            body = response.read(_MAX_BODY + 1)
    except urllib.error.HTTPError as exc:
        exc.close()  # it owns the response and its socket
        raise HttpToolError(f"{spec.method} {spec.url} answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise HttpToolError(f"{spec.method} {spec.url} failed: {exc}") from None
    if len(body) > _MAX_BODY:
        raise HttpToolError(f"{spec.method} {spec.url} answered more than {_MAX_BODY} bytes")
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def http_tool_invoker(spec: HttpToolSpec, timeout_s: float) -> Callable[..., Any]:
    """An async callable taking the tool's arguments as keywords."""

    async def invoke(**args: Any) -> Any:
        return await asyncio.to_thread(_request, spec, args, timeout_s)

    return invoke
