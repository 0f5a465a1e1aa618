"""HTTP tools against a real server on loopback: bodies, query strings, ``${ENV}`` headers,
error statuses, timeouts, and how the runtime reports their failures to the model."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import textwrap
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway.adapters.http_server import HttpServer, Request, Response
from gateway.adapters.http_tool import HttpToolError, expand_env, http_tool_invoker
from gateway.app.agents import build_agent_graph
from gateway.core.agents import parse_graph
from gateway.core.agents.agent import CallContext, FunctionTool
from gateway.core.agents.spec import HttpToolSpec
from gateway.runtime.tools import run_tool


@dataclass
class FakeCrm:
    """A CRM stand-in: records every request; answers per path."""

    requests: list[Request] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def tickets(self, request: Request) -> Response:
        self.requests.append(request)
        body = json.dumps({"ticket": "T-1", "got": json.loads(request.body)}).encode()
        return Response(201, body, content_type="application/json")

    async def hours(self, request: Request) -> Response:
        self.requests.append(request)
        return Response(200, b'{"monday": "9 to 6"}', content_type="application/json")

    async def plain(self, request: Request) -> Response:
        self.requests.append(request)
        return Response.text(200, "closed today")

    async def broken(self, request: Request) -> Response:
        self.requests.append(request)
        return Response.text(500, "database down\n")

    async def stuck(self, request: Request) -> Response:
        self.requests.append(request)
        await self.release.wait()
        return Response.text(200, "too late")


@pytest.fixture
def _collect_leaked_sockets() -> Iterator[None]:
    """Collect, quietly, the sockets failed calls leak (see test_failed_call_closes_its_socket),
    so their ResourceWarning cannot fail whichever later test the garbage collector runs in."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _open_sockets() -> int:
    fds = "/proc/self/fd"
    count = 0
    for fd in os.listdir(fds):
        try:
            count += os.readlink(f"{fds}/{fd}").startswith("socket:")
        except OSError:
            continue
    return count


@pytest.fixture
async def crm() -> AsyncIterator[tuple[FakeCrm, str]]:
    fake = FakeCrm()
    routes = {
        ("POST", "/tickets"): fake.tickets,
        ("GET", "/hours"): fake.hours,
        ("DELETE", "/hours"): fake.hours,
        ("GET", "/plain"): fake.plain,
        ("POST", "/broken"): fake.broken,
        ("POST", "/stuck"): fake.stuck,
    }
    async with HttpServer(routes) as server:
        try:
            yield fake, f"http://127.0.0.1:{server.port}"
        finally:
            fake.release.set()
            await asyncio.sleep(0)


def _invoker(url: str, method: str = "POST", timeout_s: float = 5.0, **headers: str) -> Any:
    spec = HttpToolSpec.model_validate({"url": url, "method": method, "headers": headers})
    return http_tool_invoker(spec, timeout_s)


async def test_post_sends_the_arguments_as_json(crm: tuple[FakeCrm, str]) -> None:
    """POST arguments arrive as a JSON body with a JSON content type; the JSON answer is parsed."""
    fake, base = crm
    result = await _invoker(f"{base}/tickets")(summary="No internet", callback_number="+4412")
    assert result == {
        "ticket": "T-1",
        "got": {"summary": "No internet", "callback_number": "+4412"},
    }
    (request,) = fake.requests
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == {"summary": "No internet", "callback_number": "+4412"}


async def test_get_sends_the_arguments_as_a_query_string(crm: tuple[FakeCrm, str]) -> None:
    """GET arguments go in the query string (after any already in the URL), with no body."""
    fake, base = crm
    assert await _invoker(f"{base}/hours", "GET")(day="monday", site="north gate") == {
        "monday": "9 to 6"
    }
    await _invoker(f"{base}/hours?lang=en", "GET")(day="friday")
    await _invoker(f"{base}/hours", "GET")()
    first, second, third = fake.requests
    assert (first.method, first.query, first.body) == ("GET", "day=monday&site=north+gate", b"")
    assert "content-type" not in first.headers
    assert second.query == "lang=en&day=friday"
    assert third.query == ""


async def test_delete_uses_the_query_string_too(crm: tuple[FakeCrm, str]) -> None:
    """DELETE, like GET, sends arguments in the query string."""
    fake, base = crm
    await _invoker(f"{base}/hours", "DELETE")(day="sunday")
    assert (fake.requests[0].method, fake.requests[0].query) == ("DELETE", "day=sunday")


async def test_env_references_in_headers_are_expanded(
    crm: tuple[FakeCrm, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``${NAME}`` in a header value is replaced from the environment when the call is made."""
    fake, base = crm
    invoke = _invoker(f"{base}/tickets", Authorization="Bearer ${CRM_TOKEN}", X_Site="${SITE}-1")
    monkeypatch.setenv("CRM_TOKEN", "s3cret")
    monkeypatch.setenv("SITE", "north")
    await invoke(summary="x")
    monkeypatch.setenv("CRM_TOKEN", "rotated")
    await invoke(summary="y")
    assert [r.headers["authorization"] for r in fake.requests] == [
        "Bearer s3cret",
        "Bearer rotated",
    ]
    assert fake.requests[0].headers["x_site"] == "north-1"


async def test_missing_env_var_fails_before_any_request(
    crm: tuple[FakeCrm, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unset variable raises HttpToolError naming it, and nothing is sent."""
    fake, base = crm
    monkeypatch.delenv("CRM_TOKEN", raising=False)
    with pytest.raises(HttpToolError, match="environment variable CRM_TOKEN is not set"):
        await _invoker(f"{base}/tickets", Authorization="Bearer ${CRM_TOKEN}")(summary="x")
    assert fake.requests == []


def test_expand_env_leaves_other_text_alone() -> None:
    """Only ``${NAME}`` is replaced; ``$NAME`` and plain text are kept as written."""
    assert expand_env("a ${X} $X ${X}b", {"X": "1"}) == "a 1 $X 1b"


@pytest.mark.parametrize(("path", "status"), [("/broken", 500), ("/nowhere", 404)])
@pytest.mark.usefixtures("_collect_leaked_sockets")
async def test_error_status_raises_with_the_status(
    crm: tuple[FakeCrm, str], path: str, status: int
) -> None:
    """A non-2xx answer raises HttpToolError saying the method, URL and status."""
    _, base = crm
    with pytest.raises(HttpToolError) as info:
        await _invoker(f"{base}{path}")(summary="x")
    assert str(info.value) == f"POST {base}{path} answered {status}"


@pytest.mark.usefixtures("_collect_leaked_sockets")
async def test_error_messages_do_not_leak_header_secrets(
    crm: tuple[FakeCrm, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error a failing call raises does not include the expanded credential."""
    _, base = crm
    monkeypatch.setenv("CRM_TOKEN", "s3cret-value")
    with pytest.raises(HttpToolError) as info:
        await _invoker(f"{base}/broken", Authorization="Bearer ${CRM_TOKEN}")(summary="x")
    assert "s3cret-value" not in str(info.value)


@pytest.mark.usefixtures("_collect_leaked_sockets")
async def test_failed_call_closes_its_socket(crm: tuple[FakeCrm, str]) -> None:
    """After an error status the connection is closed at once, even while the error is kept."""
    _, base = crm
    baseline = _open_sockets()
    with pytest.raises(HttpToolError) as info:
        await _invoker(f"{base}/broken")(summary="x")
    for _ in range(20):  # the server closes its side once it sees ours close
        if _open_sockets() <= baseline:
            break
        await asyncio.sleep(0.01)
    assert _open_sockets() <= baseline
    assert info.value is not None


async def test_ok_call_closes_its_socket(crm: tuple[FakeCrm, str]) -> None:
    """A successful call leaves no connection open behind it."""
    _, base = crm
    baseline = _open_sockets()
    await _invoker(f"{base}/tickets")(summary="x")
    for _ in range(20):
        if _open_sockets() <= baseline:
            break
        await asyncio.sleep(0.01)
    assert _open_sockets() <= baseline


async def test_timeout_raises(crm: tuple[FakeCrm, str]) -> None:
    """An endpoint slower than the tool's timeout fails with HttpToolError."""
    fake, base = crm
    started = asyncio.get_running_loop().time()
    with pytest.raises(HttpToolError, match=r"failed: .*timed out"):
        await _invoker(f"{base}/stuck", timeout_s=0.2)(summary="x")
    assert asyncio.get_running_loop().time() - started < 2.0
    assert len(fake.requests) == 1


async def test_nothing_listening_raises() -> None:
    """A refused connection is an HttpToolError, not an OSError."""
    server = HttpServer({})
    await server.start()
    port = server.port
    await server.stop()
    with pytest.raises(HttpToolError, match="failed:"):
        await _invoker(f"http://127.0.0.1:{port}/x")(a=1)


async def test_non_json_answer_is_returned_as_text(crm: tuple[FakeCrm, str]) -> None:
    """A body that is not JSON comes back as its text."""
    _, base = crm
    assert await _invoker(f"{base}/plain", "GET")() == "closed today"


GRAPH = """\
tools:
  - name: create_ticket
    description: Open a ticket.
    http: {{url: "{url}", method: POST}}
    parameters:
      type: object
      properties: {{summary: {{type: string}}}}
      required: [summary]
    timeout_s: 2
agents:
  - name: support
    instructions: Help.
    tools: [create_ticket]
routes: {{default: support}}
"""


def _yaml_tool(url: str) -> FunctionTool:
    spec = parse_graph(textwrap.dedent(GRAPH.format(url=url))).spec
    (tool,) = build_agent_graph(spec).agents["support"].tools
    assert isinstance(tool, FunctionTool)
    return tool


@pytest.mark.usefixtures("_collect_leaked_sockets")
async def test_yaml_http_tool_error_reaches_the_model_as_json(crm: tuple[FakeCrm, str]) -> None:
    """A YAML http tool run by the runtime turns a 500 into an ``{"error": ...}`` result."""
    fake, base = crm
    tool = _yaml_tool(f"{base}/broken")
    outcome = await run_tool(tool, '{"summary": "down"}', CallContext("call-1"))
    assert outcome.ok is False
    error = json.loads(outcome.output)["error"]
    assert "500" in error
    assert error.startswith("create_ticket failed: HttpToolError:")
    assert json.loads(fake.requests[0].body) == {"summary": "down"}


async def test_yaml_http_tool_success_reaches_the_model_as_json(crm: tuple[FakeCrm, str]) -> None:
    """The same kind of tool against a working endpoint gives the endpoint's JSON answer."""
    _, base = crm
    outcome = await run_tool(_yaml_tool(f"{base}/tickets"), '{"summary": "x"}', CallContext("c"))
    assert outcome.ok is True
    assert json.loads(outcome.output) == {"ticket": "T-1", "got": {"summary": "x"}}


async def test_yaml_http_tool_arguments_are_validated_first(crm: tuple[FakeCrm, str]) -> None:
    """Arguments that break the YAML schema are refused without calling the endpoint."""
    fake, base = crm
    outcome = await run_tool(_yaml_tool(f"{base}/tickets"), "{}", CallContext("c"))
    assert outcome.ok is False
    assert "invalid arguments" in json.loads(outcome.output)["error"]
    assert fake.requests == []
