"""No network for anything Python runs under ``make test``, ``make test-slow`` and ``make book``.

The Makefile puts this folder on ``PYTHONPATH``, so every Python process — pytest, the notebook
kernels nbval starts, ``torchrun`` and its workers, the command line run by tests, the book
build — imports this module at start-up. Connections to anything but this machine (loopback,
Unix sockets) and name look-ups of other hosts raise ``OSError`` with a message that says so. The
suite and the build pass with it: they need no network when the data is present.
Switch it off with ``MNIST_CNN_ALLOW_NETWORK=1``.
"""

from __future__ import annotations

import ipaddress
import os
import socket

_LOCAL_NAMES = {
    "localhost",
    "localhost.localdomain",
    "ip6-localhost",
    "",
    None,
}


def _is_local(host: object) -> bool:
    if host in _LOCAL_NAMES or (
        isinstance(host, str) and host == socket.gethostname()
    ):
        return True
    try:
        address = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _refuse(what: str) -> OSError:
    return OSError(
        f"network blocked by tests/offline/sitecustomize.py: {what}. The tests and the book build "
        "must not need the network; set MNIST_CNN_ALLOW_NETWORK=1 to allow it."
    )


if os.environ.get("MNIST_CNN_ALLOW_NETWORK") != "1":
    _connect = socket.socket.connect
    _connect_ex = socket.socket.connect_ex
    _getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(
            address[0]
        ):  # type: ignore[index]
            raise _refuse(f"connect to {address!r}")
        return _connect(self, address)  # type: ignore[arg-type]

    def connect_ex(self: socket.socket, address: object) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(
            address[0]
        ):  # type: ignore[index]
            raise _refuse(f"connect to {address!r}")
        return _connect_ex(self, address)  # type: ignore[arg-type]

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> list:  # type: ignore[type-arg]
        if not _is_local(host):
            raise _refuse(f"look up {host!r}")
        return _getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
