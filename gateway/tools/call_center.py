"""Tools of ``agents_config/call_center.yaml``: account balance, outages, tickets, plans.

The account and outage data are a fixed sample set standing in for a billing system and a
network status page.
"""

from __future__ import annotations

import uuid

_ACCOUNTS = {
    "1001": {"holder": "A. Jones", "balance": "42.10", "due": "the 28th"},
    "1002": {"holder": "B. Smith", "balance": "0.00", "due": "nothing due"},
}
_OUTAGES = {"SW1": "Engineers are fixing a fibre fault; service back by 6 pm."}
_PLANS = {
    "basic": "Basic broadband is 25 pounds a month, 100 megabits.",
    "plus": "Plus is 35 pounds a month, 500 megabits, with a free router.",
    "max": "Max is 50 pounds a month, 1 gigabit, with a free router and installation.",
}


def get_balance(account_number: str) -> dict[str, str]:
    """Balance and due date of an account."""
    account = _ACCOUNTS.get(account_number.strip())
    if account is None:
        raise LookupError(f"no account {account_number!r}")
    return {"balance": account["balance"], "due": account["due"]}


def check_outage(postcode: str) -> dict[str, str]:
    """Known service problems in a postcode area."""
    area = postcode.strip().upper()[:3]
    return {"area": area, "status": _OUTAGES.get(area, "No known problems in this area.")}


def create_ticket(summary: str, callback_number: str | None = None) -> dict[str, str]:
    """Open a support ticket; returns its number."""
    return {"ticket": f"T-{uuid.uuid4().hex[:6].upper()}", "summary": summary}


def get_plans(plan: str | None = None) -> dict[str, str]:
    """Prices of the plans on sale (or of one plan)."""
    if plan is None:
        return dict(_PLANS)
    key = plan.strip().lower()
    if key not in _PLANS:
        raise LookupError(f"no plan {plan!r}")
    return {key: _PLANS[key]}
