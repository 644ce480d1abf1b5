"""When to ask who someone is: the one rule the app and the service share.

- Accounts configured (users for the app, API keys for the service): everyone authenticates.
- None configured and bound to loopback: the person at the machine, as the local admin
  (the laptop case: `folio app` works out of the box).
- None configured and bound to any other interface: refused at start, with the command that
  fixes it. Nothing is ever served to the network without authentication.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

AuthMode = Literal["accounts", "local"]
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class InsecureBind(RuntimeError):
    """A non-loopback address was asked for without any account to authenticate against."""


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything, so treat it as exposed


def auth_mode(host: str, accounts_configured: bool, what: str, fix: str) -> AuthMode:
    """`what` names the accounts ("users", "API keys"), `fix` the command that creates one."""
    if accounts_configured:
        return "accounts"
    if is_loopback(host):
        return "local"
    raise InsecureBind(
        f"refusing to listen on {host} without authentication: no {what} are configured. "
        f"Create one with `{fix}`, or bind to 127.0.0.1."
    )
