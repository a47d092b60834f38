"""No network for anything Python runs under ``make test``, ``make test-slow`` and ``make book``.

The Makefile puts this folder on ``PYTHONPATH``, so every Python process — pytest, the notebook
kernels nbval starts, ``torchrun`` and its workers, the command line run by tests, the book
build — imports this module at start-up. Connections to anything but this machine (loopback,
Unix sockets) and name look-ups of other hosts raise ``OSError`` with a message that says so. The
suite and the build pass with it: they need no network when the data is present.
Switch it off with ``MNIST_CNN_ALLOW_NETWORK=1``.

The blocking is written once, in :func:`block_network`; the ``no_network`` fixture of
``tests/conftest.py`` calls it too (stricter: loopback refused as well, undone after the test).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable

_LOCAL_NAMES = {
    "localhost",
    "localhost.localdomain",
    "ip6-localhost",
    "",
    None,
}
_MARK = "_mnist_cnn_offline"  # set on the functions block_network installs


def is_local(host: object) -> bool:
    """True for this machine: loopback and unspecified addresses, localhost, its host name."""
    if host in _LOCAL_NAMES or (
        isinstance(host, str) and host == socket.gethostname()
    ):
        return True
    try:
        address = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def block_network(
    patch: Callable[[object, str, object], None] = setattr,
    allow: Callable[[object], bool] = is_local,
    by: str = "tests/offline/sitecustomize.py",
) -> None:
    """Make ``connect``, ``connect_ex`` (IPv4/IPv6) and ``getaddrinfo`` raise ``OSError`` for every
    host ``allow`` refuses (``socket.create_connection`` goes through both). ``patch(obj, name,
    value)`` installs each function: ``setattr`` for good, or pytest's ``monkeypatch.setattr`` to
    undo it after a test. ``by`` names the blocker in the message."""

    def refuse(what: str) -> OSError:
        return OSError(
            f"network blocked by {by}: {what}. The tests and the book build must not need "
            "the network; set MNIST_CNN_ALLOW_NETWORK=1 to allow it."
        )

    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_getaddrinfo = socket.getaddrinfo

    def check(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not allow(
            address[0]  # type: ignore[index]
        ):
            raise refuse(f"connect to {address!r}")

    def connect(self: socket.socket, address: object) -> None:
        check(self, address)
        return original_connect(self, address)  # type: ignore[arg-type]

    def connect_ex(self: socket.socket, address: object) -> int:
        check(self, address)
        return original_connect_ex(self, address)  # type: ignore[arg-type]

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> list:  # type: ignore[type-arg]
        if not allow(host):
            raise refuse(f"look up {host!r}")
        return original_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    for function in (connect, connect_ex, getaddrinfo):
        setattr(function, _MARK, True)
    patch(socket.socket, "connect", connect)
    patch(socket.socket, "connect_ex", connect_ex)
    patch(socket, "getaddrinfo", getaddrinfo)


# Once per process: at start-up (PYTHONPATH), or when the root conftest.py runs this file in
# pytest's process; importing the module (tests/conftest.py does) adds nothing.
if os.environ.get("MNIST_CNN_ALLOW_NETWORK") != "1" and not getattr(
    socket.socket.connect, _MARK, False
):
    block_network()
