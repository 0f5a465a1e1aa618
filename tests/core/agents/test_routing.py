"""Entry-agent routing: user parts of SIP/tel URIs, and the first-match-wins route table."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.core.agents import parse_graph
from gateway.core.agents.routing import Router, sip_user
from gateway.core.agents.spec import RouteRule, RoutesSpec

CONFIGS = Path(__file__).resolve().parents[3] / "agents_config"


def _router(*rules: RouteRule, default: str = "fallback") -> Router:
    return Router(RoutesSpec(default=default, rules=list(rules)))


@pytest.mark.parametrize(
    ("uri", "user"),
    [
        ("sip:+442079460000@pbx.example.com", "+442079460000"),
        ("sip:100@10.0.0.1:5060", "100"),
        ("sip:alice@example.com;transport=udp", "alice"),
        ("sip:100;user=phone@example.com", "100"),
        ("sips:secure@example.com;transport=tls", "secure"),
        ("tel:+14155550100", "+14155550100"),
        ("tel:+14155550100;phone-context=example.com", "+14155550100"),
        ('"Bob Smith" <sip:+4420@host>', "+4420"),
        ('"Bob" <sip:+4420@host;transport=tcp>;tag=a8f3', "+4420"),
        ("<sips:200@host>", "200"),
        ('"Sales <UK>" <sip:300@host>', "300"),
        ("  sip:400@host  ", "400"),
    ],
)
def test_sip_user_takes_the_user_part(uri: str, user: str) -> None:
    """The user part of SIP, SIPS and tel URIs and of name-addrs, without params or host."""
    assert sip_user(uri) == user


@pytest.mark.parametrize(("text", "user"), [("+4420", "+4420"), (" 8001001 ", "8001001")])
def test_sip_user_passes_plain_numbers_through(text: str, user: str) -> None:
    """Something that is not a URI (an already-extracted number) comes back stripped."""
    assert sip_user(text) == user


def test_sip_user_accepts_upper_case_schemes() -> None:
    """URI schemes are case-insensitive: ``SIP:100@host`` has user ``100``."""
    assert sip_user("SIP:100@host") == "100"
    assert sip_user("<TEL:+4420>") == "+4420"


def test_first_matching_rule_wins() -> None:
    """When two rules match, the earlier one picks the agent."""
    router = _router(
        RouteRule(dialed=r"100", agent="first"),
        RouteRule(dialed=r"1\d\d", agent="second"),
    )
    assert router.entry_agent("100") == "first"
    assert router.entry_agent("101") == "second"


def test_dialed_only_rule_ignores_the_caller() -> None:
    """A rule with only ``dialed`` matches whoever calls, even an unknown caller."""
    router = _router(RouteRule(dialed=r"200", agent="sales"))
    assert router.entry_agent("200", "+441234") == "sales"
    assert router.entry_agent("200") == "sales"
    assert router.entry_agent("201", "+441234") == "fallback"


def test_caller_only_rule_ignores_the_dialed_number() -> None:
    """A rule with only ``caller`` matches whatever number was dialed."""
    router = _router(RouteRule(caller=r"\+44.*", agent="uk"))
    assert router.entry_agent("200", "+441234") == "uk"
    assert router.entry_agent("999", "+4499") == "uk"
    assert router.entry_agent("200", "+331234") == "fallback"
    assert router.entry_agent("200") == "fallback"


def test_rule_with_both_needs_both_to_match() -> None:
    """With ``dialed`` and ``caller``, a call matching only one of them falls through."""
    router = _router(
        RouteRule(dialed=r"300", caller=r"\+44.*", agent="uk_support"),
        RouteRule(dialed=r"300", agent="support"),
    )
    assert router.entry_agent("300", "+441234") == "uk_support"
    assert router.entry_agent("300", "+331234") == "support"
    assert router.entry_agent("301", "+441234") == "fallback"


@pytest.mark.parametrize("dialed", ["1000", "0100", "100 ", "x100"])
def test_patterns_match_in_full_not_as_prefix(dialed: str) -> None:
    """``100`` (or ``^100`` without ``$``) matches exactly ``100``, never a longer number."""
    router = _router(RouteRule(dialed=r"100", agent="a"), RouteRule(dialed=r"^100", agent="b"))
    assert router.entry_agent(dialed) == "fallback"


def test_caller_pattern_matches_in_full() -> None:
    """A caller pattern is anchored at both ends as well."""
    router = _router(RouteRule(caller=r"\+44", agent="uk"))
    assert router.entry_agent("1", "+44") == "uk"
    assert router.entry_agent("1", "+441234") == "fallback"


def test_no_rules_means_the_default() -> None:
    """A route table with only a default sends every call there."""
    assert _router(default="receptionist").entry_agent("anything", "anyone") == "receptionist"


@pytest.mark.parametrize(
    ("dialed", "agent"),
    [
        ("8001001", "billing"),
        ("448001001", "billing"),
        ("+448001001", "billing"),
        ("8001002", "tech_support"),
        ("+448001002", "tech_support"),
        ("8001003", "triage"),
        ("80010011", "triage"),
        ("++448001001", "triage"),
        ("", "triage"),
    ],
)
def test_call_center_routes(dialed: str, agent: str) -> None:
    """The shipped call-centre graph routes its two numbers; anything else goes to triage."""
    spec = parse_graph((CONFIGS / "call_center.yaml").read_text(), "call_center.yaml").spec
    router = Router(spec.routes)
    assert router.entry_agent(dialed, "+441632960000") == agent


def test_call_center_routes_from_uris() -> None:
    """Routing the user parts of real Request-URI / From values reaches the same agents."""
    spec = parse_graph((CONFIGS / "call_center.yaml").read_text()).spec
    router = Router(spec.routes)
    dialed = sip_user("sip:+448001002@gw.example.com;user=phone")
    caller = sip_user('"Ann" <sip:+441632960000@carrier.example>;tag=1')
    assert router.entry_agent(dialed, caller) == "tech_support"
