"""Phone-appropriate guardrails (sans-I/O): checks on what the agent says and on what the
caller says.

Output guardrails check the agent's transcript of the turn it is speaking and return a
:class:`GuardrailTrip` whose ``offset`` says where the offending content starts:

* ``no_urls``: URLs, e-mail addresses and markdown, written or spoken (fast);
* ``no_long_digits``: runs of ``min_digits`` or more digits, written or spoken (fast);
* ``max_turn_length``: a turn longer than ``max_chars`` (fast);
* ``no_human_claim``: "I'm a real person", "I'm not a robot" (fast);
* ``python``: ``function(text) -> str | None`` (fast unless declared slow).

Each also says, with ``hold_from(text)``, where unfinished content starts that more text could
still make offending, so audio can be released only up to what is settled.

Input guardrails (``phrases``, ``python``) check the caller's transcripts and return an
:class:`InputGuardrailHit` with the configured action. :class:`TranscriptChecker` runs the fast
output guardrails on streaming transcript deltas, debounced; :func:`build_guardrails` builds
everything from a :class:`~gateway.core.agents.spec.GuardrailSet`.

::

    base      GuardrailTrip, InputGuardrailHit, OutputGuardrail, InputGuardrail, slow_guardrail
    urls      NoUrls          digits   NoLongDigits        length   MaxTurnLength
    human     NoHumanClaim    custom   CustomOutput, CustomInput
    phrases   Phrases         checker  TranscriptChecker   factory  build_guardrails, Guardrails
"""

from gateway.core.agents.guardrails.base import (
    Action,
    GuardrailTrip,
    InputGuardrail,
    InputGuardrailHit,
    OutputGuardrail,
    slow_guardrail,
)
from gateway.core.agents.guardrails.checker import TranscriptChecker
from gateway.core.agents.guardrails.custom import (
    CustomInput,
    CustomOutput,
    input_guardrail,
    output_guardrail,
)
from gateway.core.agents.guardrails.digits import NoLongDigits
from gateway.core.agents.guardrails.factory import (
    Guardrails,
    Resolver,
    build_guardrails,
    build_input,
    build_output,
)
from gateway.core.agents.guardrails.human import NoHumanClaim
from gateway.core.agents.guardrails.length import MaxTurnLength
from gateway.core.agents.guardrails.phrases import Phrases
from gateway.core.agents.guardrails.urls import NoUrls

__all__ = [
    "Action",
    "CustomInput",
    "CustomOutput",
    "GuardrailTrip",
    "Guardrails",
    "InputGuardrail",
    "InputGuardrailHit",
    "MaxTurnLength",
    "NoHumanClaim",
    "NoLongDigits",
    "NoUrls",
    "OutputGuardrail",
    "Phrases",
    "Resolver",
    "TranscriptChecker",
    "build_guardrails",
    "build_input",
    "build_output",
    "input_guardrail",
    "output_guardrail",
    "slow_guardrail",
]
