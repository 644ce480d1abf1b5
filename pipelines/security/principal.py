"""One principal object for the app, the service and the CLI: who acts, with which role.

Roles are ordered (viewer < reviewer < admin); each action needs a minimum role. Checks live
here, in one table, so the app's buttons, the API's endpoints and the CLI agree.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Literal

Role = Literal["viewer", "reviewer", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "reviewer", "admin")
PrincipalKind = Literal["user", "api_key", "cli", "local"]

# What each role may do. `view` covers reading documents and results, `sql` the sandboxed
# read-only query page; `edit` saves corrections; `export` downloads results; `admin` covers
# users, keys, erasure, retention and training.
Action = Literal["view", "sql", "edit", "upload", "export", "admin"]
MINIMUM_ROLE: dict[Action, Role] = {
    "view": "viewer",
    "sql": "viewer",
    "edit": "reviewer",
    "upload": "reviewer",
    "export": "reviewer",
    "admin": "admin",
}


class PermissionDenied(PermissionError):
    """The principal's role does not allow the action; the message says which role would."""


def role_rank(role: Role) -> int:
    return ROLES.index(role)


def parse_role(value: str) -> Role:
    for role in ROLES:
        if value == role:
            return role
    raise ValueError(f"unknown role {value!r}: choose one of {', '.join(ROLES)}")


@dataclass(frozen=True)
class Principal:
    """An authenticated actor. `name` is the login or key name, shown to the person; audit
    records carry a pseudonym of it instead (pipelines.security.pseudonyms)."""

    name: str
    role: Role
    kind: PrincipalKind
    key_id: str | None = None

    def can(self, action: Action) -> bool:
        return role_rank(self.role) >= role_rank(MINIMUM_ROLE[action])

    def require(self, action: Action) -> None:
        if not self.can(action):
            needed = MINIMUM_ROLE[action]
            raise PermissionDenied(
                f"{self.name} ({self.role}) may not {action}: that needs the {needed} role"
            )

    @property
    def label(self) -> str:
        """What corrections record as their author: stable, human-readable, never typed in."""
        return self.name


def cli_principal() -> Principal:
    """Whoever runs the CLI owns the workspace files already: the operating-system user, admin."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Principal(name=f"cli:{user}", role="admin", kind="cli")


def local_principal() -> Principal:
    """The single person at a laptop when no users are configured and the server is bound to
    loopback: the operating-system user, admin (as the CLI)."""
    return Principal(name=cli_principal().name.removeprefix("cli:"), role="admin", kind="local")
