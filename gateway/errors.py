"""The one exception tree of voicegw.

::

    GatewayError                      sip_status hint for the SIP adapter
    ├── ConfigError                   bad YAML / settings; carries every issue found
    ├── AudioError                    bad audio input (odd length, unknown codec)
    │   └── UnknownCodecError
    ├── ProtocolError                 a protocol was broken
    │   ├── LocalProtocolError        we misused it (a bug on our side)
    │   └── RemoteProtocolError       the peer broke it
    ├── CapacityError                 no room for another call (503)
    └── CallRejectedError             a call is refused on purpose (403, 603, ...)

Messages are short statements of fact naming the value or state at fault.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class GatewayError(Exception):
    """Base of every error voicegw raises on purpose.

    ``sip_status`` is the response code a SIP adapter should use if this error
    ends a call attempt before it is answered.
    """

    sip_status: int = 500


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a configuration file, located as precisely as known."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class ConfigError(GatewayError):
    """A configuration is invalid; ``issues`` lists every problem found."""

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


class AudioError(GatewayError):
    """Audio input cannot be processed."""

    sip_status = 488


class UnknownCodecError(AudioError):
    """A codec spelling we do not recognise."""


class ProtocolError(GatewayError):
    """A protocol was broken."""


class LocalProtocolError(ProtocolError):
    """We asked for something the protocol state does not allow (our bug)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol does not allow."""


class CapacityError(GatewayError):
    """No capacity for another call; retry later."""

    sip_status = 503


class CallRejectedError(GatewayError):
    """A call is refused on purpose, with the SIP status to answer."""

    def __init__(self, message: str, sip_status: int = 603) -> None:
        super().__init__(message)
        self.sip_status = sip_status
