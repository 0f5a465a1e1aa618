"""Parse agent-graph YAML text into a :class:`GraphSpec`, reporting every error with its line.

Text in, model or :class:`ConfigError` out; reading files is the caller's business. Errors are
``FILE:LINE: field.path: message`` and all of them are collected: YAML syntax (which stops the
parse), duplicate keys, every pydantic field error, and every dangling reference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from gateway.core.agents.references import Loc, reference_issues
from gateway.core.agents.spec import GraphSpec, format_loc
from gateway.errors import ConfigError, ConfigIssue

__all__ = ["LineMap", "LoadedGraph", "RawCheck", "compose_yaml", "parse_graph", "pydantic_issue"]

RawCheck = Callable[[dict[str, Any]], list[tuple[Loc, str]]]
"""An extra check on the raw YAML data, tolerant of broken shapes, returning located issues."""


@dataclass(slots=True)
class LineMap:
    """1-based source line of every mapping key and sequence item, by data path."""

    lines: dict[Loc, int] = field(default_factory=dict)

    def line_for(self, loc: Loc) -> int:
        """The line of ``loc``, or of its nearest ancestor that has one (1 for the root)."""
        for end in range(len(loc), 0, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return 1


@dataclass(frozen=True, slots=True)
class LoadedGraph:
    """A validated graph with where it came from, for later located errors (tool imports)."""

    spec: GraphSpec
    filename: str
    lines: LineMap

    def issue(self, loc: Loc, message: str) -> ConfigIssue:
        return ConfigIssue(self.filename, self.lines.line_for(loc), format_loc(loc), message)


def parse_graph(
    text: str, filename: str = "<string>", extra_checks: Sequence[RawCheck] = ()
) -> LoadedGraph:
    """Parse and validate one graph; raise :class:`ConfigError` listing every problem.

    ``extra_checks`` run on the raw data along with the built-in reference check, so their
    findings are reported together with schema errors.
    """
    data, lines, issues = compose_yaml(text, filename)
    if data is None:
        raise ConfigError(issues)
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue(filename, 1, "", "the top level must be a mapping")])
    spec: GraphSpec | None = None
    try:
        spec = GraphSpec.model_validate(data, context={"skip_references": True})
    except ValidationError as exc:
        issues += [pydantic_issue(err, data, lines, filename) for err in exc.errors()]
    for check in (reference_issues, *extra_checks):
        issues += [
            ConfigIssue(filename, lines.line_for(loc), format_loc(loc), msg)
            for loc, msg in check(data)
        ]
    if issues or spec is None:
        raise ConfigError(sorted(issues, key=lambda i: (i.line or 0, i.path)))
    return LoadedGraph(spec, filename, lines)


def compose_yaml(text: str, filename: str) -> tuple[Any, LineMap, list[ConfigIssue]]:
    """YAML text to plain data, a line map and any syntax/duplicate-key issues (data None if
    the YAML does not parse). Shared by every YAML file voicegw reads."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, LineMap(), [ConfigIssue(filename, 1, "", "the file is empty")]
        lines = LineMap()
        issues: list[ConfigIssue] = []
        _walk(node, (), lines, issues, filename)
        return loader.construct_document(node), lines, issues
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        return None, LineMap(), [ConfigIssue(filename, line, "", f"invalid YAML: {problem}")]
    finally:
        loader.dispose()


def _walk(
    node: yaml.Node, loc: Loc, lines: LineMap, issues: list[ConfigIssue], filename: str
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                path = format_loc((*loc, key))
                issues.append(ConfigIssue(filename, line, path, f"duplicate key {key!r}"))
            seen.add(key)
            lines.lines.setdefault((*loc, key), line)
            _walk(value_node, (*loc, key), lines, issues, filename)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.lines[(*loc, index)] = item.start_mark.line + 1
            _walk(item, (*loc, index), lines, issues, filename)


def pydantic_issue(err: Any, data: Any, lines: LineMap, filename: str) -> ConfigIssue:
    """Translate one pydantic error to a located issue, dropping union tags from the path."""
    raw_loc: tuple[str | int, ...] = tuple(err["loc"])
    loc: list[str | int] = []
    cursor = data
    for pos, part in enumerate(raw_loc):
        found, child = _child(cursor, part)
        if found:
            cursor = child
        elif pos != len(raw_loc) - 1:
            continue  # a union tag such as 'no_urls' or 'function-after[...]'
        loc.append(part)
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown field"
    return ConfigIssue(filename, lines.line_for(tuple(loc)), format_loc(tuple(loc)), message)


def _child(container: Any, part: str | int) -> tuple[bool, Any]:
    if isinstance(container, dict) and part in container:
        return True, container[part]
    if isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container):
        return True, container[part]
    return False, None
