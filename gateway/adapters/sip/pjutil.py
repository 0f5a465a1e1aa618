"""pjsua2 helpers shared by the gateway and the probe: responses, DTMF, INVITE fields, media."""

from __future__ import annotations

from typing import Any

import pjsua2 as pj

__all__ = [
    "DISCONNECTED",
    "active_audio",
    "dtmf_param",
    "header_values",
    "invite_fields",
    "response",
    "slot_reused",
    "state_name",
]

DISCONNECTED = pj.PJSIP_INV_STATE_DISCONNECTED
_STATES = {
    getattr(pj, name): name.removeprefix("PJSIP_INV_STATE_")
    for name in dir(pj)
    if name.startswith("PJSIP_INV_STATE_")
}


def response(code: int, retry_after: int | None = None) -> Any:
    """A ``CallOpParam`` answering with ``code`` (and a Retry-After header if given)."""
    prm = pj.CallOpParam(True)
    prm.statusCode = code
    if retry_after is not None:
        header = pj.SipHeader()
        header.hName = "Retry-After"
        header.hValue = str(retry_after)
        prm.txOption.headers.append(header)
    return prm


def slot_reused(obj: Any) -> bool:
    """Whether ``obj`` is a ``pj.Call`` whose pjsua call slot now holds another call.

    pjsua reuses the slot of an ended call for a new one, and pjsua2's ``~Call`` still acts on
    the slot it had: it clears the slot's user data (the new call's callbacks stop) and hangs
    the slot's call up if it is active. Such an object must not be freed yet.
    """
    if not isinstance(obj, pj.Call):
        return False
    slot = obj.getId()
    if slot == pj.PJSUA_INVALID_ID:
        return False
    owner = pj.Call.lookup(slot)
    return owner is not None and int(owner.this) != int(obj.this)


def dtmf_param(digits: str, method: str) -> Any:
    prm = pj.CallSendDtmfParam()
    prm.digits = digits
    prm.method = pj.PJSUA_DTMF_METHOD_SIP_INFO if method == "info" else pj.PJSUA_DTMF_METHOD_RFC2833
    return prm


def invite_fields(whole_msg: str) -> dict[str, str]:
    """Request-URI, From and To of a raw INVITE (compact header forms included)."""
    lines = whole_msg.split("\r\n")
    fields = {"request_uri": lines[0].split(" ")[1] if " " in lines[0] else ""}
    names = {"from": "from", "f": "from", "to": "to", "t": "to"}
    for line in lines[1:]:
        if not line:
            break
        name, _, value = line.partition(":")
        key = names.get(name.strip().lower())
        if key is not None:
            fields.setdefault(key, value.strip())
    return fields


def active_audio(call: Any) -> tuple[Any, int] | None:
    """The call's first active audio media and its index, or None."""
    # Keep the CallInfo alive while reading .media: the vector proxy points into it, and a
    # temporary CallInfo is freed at once (its .media then reads freed memory).
    info = call.getInfo()
    for media in info.media:
        if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
            return call.getAudioMedia(media.index), media.index
    return None


def state_name(state: int) -> str:
    return _STATES.get(state, str(state))


_COMPACT = {
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "v": "via",
    "l": "content-length",
}


def header_values(whole_msg: str, name: str) -> list[str]:
    """Every value of header ``name`` in a raw SIP message (compact forms included)."""
    wanted = name.lower()
    values: list[str] = []
    for line in whole_msg.split("\r\n")[1:]:
        if not line:
            break
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if _COMPACT.get(key, key) == wanted:
            values.append(value.strip())
    return values
