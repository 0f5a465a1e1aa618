"""The Kamailio front's files: definitions set in the template, the dispatcher list per worker."""

from __future__ import annotations

import pytest

from gateway.app.kamailio_config import (
    TEMPLATE,
    Machine,
    defined_names,
    dispatcher_list,
    front_config,
)
from gateway.errors import ConfigError


def test_every_worker_of_every_machine_is_listed_with_its_call_limit() -> None:
    """One line per worker: set 1, its URI, probing, a unique duid and maxload = --max-calls."""
    text = dispatcher_list([Machine("10.0.0.11", 2, 5070), Machine("10.0.0.12", 2, 5070)], 3)
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == [
        "1 sip:10.0.0.11:5070 8 0 duid=m0w0;maxload=3",
        "1 sip:10.0.0.11:5071 8 0 duid=m0w1;maxload=3",
        "1 sip:10.0.0.12:5070 8 0 duid=m1w0;maxload=3",
        "1 sip:10.0.0.12:5071 8 0 duid=m1w1;maxload=3",
    ]


def test_definitions_are_set_in_place() -> None:
    """Only the #!substdef line of each name changes."""
    template = TEMPLATE.read_text()
    config = front_config(template, {"FRONT_PORT": "5099", "TRUSTED_NETS": "10.0.0.0/8"})
    assert '#!substdef "!FRONT_PORT!5099!g"' in config
    assert '#!substdef "!TRUSTED_NETS!10.0.0.0/8!g"' in config
    assert len(config.splitlines()) == len(template.splitlines())


def test_the_template_defines_what_the_command_sets() -> None:
    """Every name voicegw kamailio-config fills in is defined once in deploy/kamailio/front.cfg."""
    assert defined_names(TEMPLATE.read_text()) == [
        "FRONT_ADDRESS", "FRONT_PORT", "DISPATCHER_LIST", "CTL_SOCKET", "PING_INTERVAL",
        "WORKER_TIMEOUT_MS", "MAX_TRIES", "TRUSTED_NETS", "PIKE_DENSITY", "INVITE_LIMIT",
        "RETRY_AFTER",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("values", "message"),
    [({"NOPE": "1"}, "defines it 0 times"), ({"FRONT_PORT": "50!60"}, "cannot go into")],
)
def test_unknown_names_and_unusable_values_are_refused(
    values: dict[str, str], message: str
) -> None:
    """A name the template lacks, or a value with '!', is a configuration error."""
    with pytest.raises(ConfigError, match=message):
        front_config(TEMPLATE.read_text(), values)
