"""The few pjsip C functions and structs the gateway reaches past pjsua2, through ctypes.

pjsua2 wraps pjsua, not pjsip: it cannot answer a request pjsip dropped, add a module, or
refuse an INVITE before pjsua builds a call (and its RTP sockets) for it. The wheel's
``_pjsua2`` shared library exports the whole pjsip C API, so :class:`Pjsip` loads the same
library (``dlopen`` of a loaded library returns it) and declares what it uses.

Layouts relied on (pjsip's public structs, unchanged since pjsip 2.1; Linux x86-64):

* ``pjsip_module``: ``prev``, ``next``, ``pj_str_t name``, ``int id``, ``int priority``, then
  nine function pointers (``load`` ... ``on_tsx_state``);
* ``pjsip_tp_dropped_data``: transport, data, length, status;
* ``pjsip_tpselector``: an ``int`` type, then a pointer at offset 8;
* ``pjsip_hdr`` (every header) starts with its ``prev``/``next`` list links;
* ``pj_sockaddr_in`` / ``_in6``: the Linux ``sockaddr_in`` / ``sockaddr_in6``;
* ``pjsip_rx_data.msg_info`` begins ``char *msg_buf; int len; pjsip_msg *msg; char *info``.
  Its offset in ``pjsip_rx_data`` depends on build options, so it is found at run time: the
  pointer ``pjsip_rx_data_get_info`` returns is stored in ``info``; the word before it must
  then hold a length and the one before that the message text (checked, or nothing is read).

:meth:`Pjsip.load` checks every symbol exists. Everything here runs on pjsua threads.
"""

from __future__ import annotations

import ctypes
import functools
import socket
import struct
from typing import Any

import pjsua2 as pj

__all__ = [
    "DROP_CB",
    "RX_CB",
    "DroppedData",
    "ListHead",
    "Module",
    "Pjsip",
    "sockaddr",
    "tls_library",
]

_SYMBOLS = (
    "pjsua_get_pjsip_endpt",
    "pjsua_pool_create",
    "pj_pool_release",
    "pjsip_endpt_get_tpmgr",
    "pjsip_tpmgr_set_drop_data_cb",
    "pjsip_endpt_register_module",
    "pjsip_endpt_unregister_module",
    "pjsip_endpt_respond_stateless",
    "pjsip_endpt_send_raw",
    "pjsip_endpt_get_capability",
    "pjsip_rx_data_get_info",
    "pjsip_hdr_clone",
    "pjsip_retry_after_hdr_create",
)
_TPSELECTOR_TRANSPORT = 1
_MAX_MESSAGE = 65535
_SCAN_WORDS = 4096
"""How far into ``pjsip_rx_data`` (in 8-byte words) to look for ``msg_info.info``."""
_TRANSPORTS = {
    "UDP": (pj.PJSIP_TRANSPORT_UDP, pj.PJSIP_TRANSPORT_UDP6),
    "TCP": (pj.PJSIP_TRANSPORT_TCP, pj.PJSIP_TRANSPORT_TCP6),
    "TLS": (pj.PJSIP_TRANSPORT_TLS, pj.PJSIP_TRANSPORT_TLS6),
}


class DroppedData(ctypes.Structure):
    _fields_ = (
        ("tp", ctypes.c_void_p),
        ("data", ctypes.c_void_p),
        ("len", ctypes.c_size_t),
        ("status", ctypes.c_int),
    )


DROP_CB = ctypes.CFUNCTYPE(None, ctypes.POINTER(DroppedData))
RX_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class PjStr(ctypes.Structure):
    _fields_ = (("ptr", ctypes.c_char_p), ("slen", ctypes.c_ssize_t))


class Module(ctypes.Structure):
    _fields_ = (
        ("prev", ctypes.c_void_p),
        ("next", ctypes.c_void_p),
        ("name", PjStr),
        ("id", ctypes.c_int),
        ("priority", ctypes.c_int),
        ("load", ctypes.c_void_p),
        ("start", ctypes.c_void_p),
        ("stop", ctypes.c_void_p),
        ("unload", ctypes.c_void_p),
        ("on_rx_request", RX_CB),
        ("on_rx_response", ctypes.c_void_p),
        ("on_tx_request", ctypes.c_void_p),
        ("on_tx_response", ctypes.c_void_p),
        ("on_tsx_state", ctypes.c_void_p),
    )


class ListHead(ctypes.Structure):
    """A pjsip list head: a header list passed to ``pjsip_endpt_respond_stateless``."""

    _fields_ = (("prev", ctypes.c_void_p), ("next", ctypes.c_void_p))


class _Selector(ctypes.Structure):
    _fields_ = (("type", ctypes.c_int), ("reuse", ctypes.c_int), ("transport", ctypes.c_void_p))


def sockaddr(host: str, port: int) -> bytes:
    """A ``pj_sockaddr`` (Linux ``sockaddr_in``/``sockaddr_in6`` layout) for ``host:port``."""
    if ":" in host:
        packed = socket.inet_pton(socket.AF_INET6, host)
        return struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", port, 0) + packed + bytes(4)
    packed = socket.inet_aton(host) if host else bytes(4)  # no address: a stream reply
    return struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + packed + bytes(8)


@functools.cache
def tls_library() -> str:
    """The TLS library the wheel bundles (``OpenSSL 1.0.2k-fips  26 Jan 2017``), or ``""``."""
    try:
        version = ctypes.CDLL(pj._pjsua2.__file__).SSLeay_version
    except (OSError, AttributeError):
        return ""
    version.restype, version.argtypes = ctypes.c_char_p, (ctypes.c_int,)
    return " ".join((version(0) or b"").decode("latin-1").split())


class Pjsip:
    """The running endpoint's pjsip, seen through ctypes (pjsua threads only)."""

    def __init__(self, lib: Any) -> None:
        self.lib = lib
        self.endpt: int = lib.pjsua_get_pjsip_endpt()
        self.pool: int = lib.pjsua_pool_create(b"voicegw-pjsip", 1024, 1024)
        self._info_at: int | None = None

    @classmethod
    def load(cls) -> Pjsip:
        """The library of the running endpoint; raises OSError or LookupError if unusable."""
        lib = ctypes.CDLL(pj._pjsua2.__file__)
        missing = [name for name in _SYMBOLS if not hasattr(lib, name)]
        if missing:
            raise LookupError(f"pjsip symbols missing: {', '.join(missing)}")
        _declare(lib)
        return cls(lib)

    def close(self) -> None:
        if self.pool:
            self.lib.pj_pool_release(self.pool)
            self.pool = 0

    # --- modules and callbacks ---------------------------------------------------------------

    def register(self, module: Module, name: bytes, priority: int, on_rx: Any) -> bool:
        """Register ``module`` (kept alive by the caller); False if pjsip refused it or did
        not write its id where the expected layout has it."""
        module.name = PjStr(name, len(name))
        module.id, module.priority, module.on_rx_request = -1, priority, on_rx
        status = self.lib.pjsip_endpt_register_module(self.endpt, ctypes.byref(module))
        return bool(status == 0 and module.id >= 0)

    def unregister(self, module: Module) -> None:
        self.lib.pjsip_endpt_unregister_module(self.endpt, ctypes.byref(module))

    def set_drop_callback(self, callback: Any) -> None:
        """Install (or with ``DROP_CB()``, remove) the transport manager's drop callback."""
        tpmgr = self.lib.pjsip_endpt_get_tpmgr(self.endpt)
        self.lib.pjsip_tpmgr_set_drop_data_cb(tpmgr, callback)

    # --- headers -----------------------------------------------------------------------------

    def header_list(self, head: ListHead, header: int | None) -> None:
        """Make ``head`` a list holding ``header`` (or an empty list)."""
        address = ctypes.addressof(head)
        head.prev = head.next = address
        if header:
            ctypes.memmove(header, ctypes.byref(ListHead(address, address)), 16)
            head.prev = head.next = header

    def allow_header(self) -> int | None:
        """A copy of the endpoint's ``Allow`` header (what pjsua answers OPTIONS with)."""
        found = self.lib.pjsip_endpt_get_capability(self.endpt, pj.PJSIP_H_ALLOW, None)
        return self.lib.pjsip_hdr_clone(self.pool, found) if found and self.pool else None

    def retry_after_header(self, seconds: int) -> int | None:
        return self.lib.pjsip_retry_after_hdr_create(self.pool, seconds) if self.pool else None

    # --- requests ----------------------------------------------------------------------------

    def method(self, rdata: int) -> str:
        """The method of a received request (``""`` for a response)."""
        info = ctypes.string_at(self.lib.pjsip_rx_data_get_info(rdata)).decode("latin-1")
        return info.removeprefix("Request msg ").split("/", 1)[0] if info[:8] == "Request " else ""

    def message(self, rdata: int, method: str) -> bytes:
        """The raw text of a received request, or ``b""`` if it cannot be found safely."""
        info = self.lib.pjsip_rx_data_get_info(rdata)
        if self._info_at is None:
            self._info_at = self._find_info(rdata, info, method)
        if self._info_at is None:
            return b""
        return self._read(rdata, self._info_at, method) or b""

    def _find_info(self, rdata: int, info: int, method: str) -> int | None:
        for word in range(3, _SCAN_WORDS):
            if ctypes.c_uint64.from_address(rdata + 8 * word).value == info:
                at = 8 * word
                return at if self._read(rdata, at, method) is not None else None
        return None

    @staticmethod
    def _read(rdata: int, info_at: int, method: str) -> bytes | None:
        buf = ctypes.c_uint64.from_address(rdata + info_at - 24).value
        length = ctypes.c_int.from_address(rdata + info_at - 16).value
        if not buf or not 0 < length <= _MAX_MESSAGE:
            return None
        text = ctypes.string_at(buf, length)
        return text if text.startswith(method.encode() + b" ") else None

    def respond(self, rdata: int, status: int, headers: ListHead | None = None) -> bool:
        """Answer a received request statelessly (with ``headers``, a header list)."""
        extra = ctypes.addressof(headers) if headers is not None else None
        sent = self.lib.pjsip_endpt_respond_stateless(self.endpt, rdata, status, None, extra, None)
        return bool(sent == 0)

    def send_raw(self, message: bytes, transport: int, kind: str, host: str, port: int) -> bool:
        """Send ``message`` on the transport a message came in on (a TCP reply uses its
        connection; a datagram goes to ``host:port``)."""
        selector = _Selector(_TPSELECTOR_TRANSPORT, 0, transport)
        address = sockaddr(host, port)
        v4, v6 = _TRANSPORTS.get(kind, _TRANSPORTS["UDP"])
        status = self.lib.pjsip_endpt_send_raw(
            self.endpt, v6 if ":" in host else v4, ctypes.byref(selector), message,
            len(message), address, len(address), None, None,
        )  # fmt: skip
        return bool(status == 0)


def _declare(lib: Any) -> None:
    """Argument and result types of the functions used (ctypes defaults to int)."""
    vp, c_int, size, text = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t, ctypes.c_char_p
    signatures: dict[str, tuple[Any, tuple[Any, ...]]] = {
        "pjsua_get_pjsip_endpt": (vp, ()),
        "pjsua_pool_create": (vp, (text, size, size)),
        "pj_pool_release": (None, (vp,)),
        "pjsip_endpt_get_tpmgr": (vp, (vp,)),
        "pjsip_tpmgr_set_drop_data_cb": (c_int, (vp, DROP_CB)),
        "pjsip_endpt_register_module": (c_int, (vp, ctypes.POINTER(Module))),
        "pjsip_endpt_unregister_module": (c_int, (vp, ctypes.POINTER(Module))),
        "pjsip_endpt_respond_stateless": (c_int, (vp, vp, c_int, vp, vp, vp)),
        "pjsip_endpt_send_raw": (
            c_int, (vp, c_int, ctypes.POINTER(_Selector), text, size, text, c_int, vp, vp),
        ),
        "pjsip_endpt_get_capability": (vp, (vp, c_int, vp)),
        "pjsip_rx_data_get_info": (vp, (vp,)),
        "pjsip_hdr_clone": (vp, (vp, vp)),
        "pjsip_retry_after_hdr_create": (vp, (vp, c_int)),
    }  # fmt: skip
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes
