"""Users (app logins) and API keys (the service) of a workspace, with argon2id hashes.

Stored in `security/accounts.json` (mode 0600, written whole and renamed; changes under a file
lock so two admins never lose each other's edit). No password or key is stored, only argon2id
hashes (argon2-cffi's RFC 9106 defaults); verification is constant-time in argon2 itself, and an
unknown name is verified against a dummy hash so it takes as long as a wrong password.

API keys read `folio_<key id>_<secret>`: the id finds the record without trying every hash, the
secret is 32 random bytes. A verified key is remembered for a minute (by its SHA-256) so a busy
client does not pay argon2 on every request; revocation is checked on every request regardless.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pipelines.security.principal import Principal, Role, parse_role
from pipelines.security.pseudonyms import security_dir

ACCOUNTS_FILE = "accounts.json"
KEY_PREFIX = "folio_"
KEY_CACHE_S = 60.0
MIN_PASSWORD_LENGTH = 12
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_HASHER = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4
_DUMMY_HASH = _HASHER.hash("folio: no such user")


class AccountError(ValueError):
    """A request the store refuses (unknown user, weak password, duplicate name), in words."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    password_hash: str
    created_at: str
    disabled: bool = False


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    role: Role
    secret_hash: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _verify(hash_: str, secret: str) -> bool:
    try:
        return _HASHER.verify(hash_, secret)
    except (VerificationError, InvalidHashError):
        return False


class AccountStore:
    def __init__(self, workspace_root: Path) -> None:
        self.folder = security_dir(workspace_root)
        self.path = self.folder / ACCOUNTS_FILE
        self._verified_keys: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._parsed: tuple[tuple[int, int, int], dict[str, User], dict[str, ApiKey]] | None = None

    # -- reading -------------------------------------------------------------------------------

    def _load(self) -> tuple[dict[str, User], dict[str, ApiKey]]:
        """The file's accounts, parsed again only when it changed (the service asks on every
        request; a rename by another process gives a new inode, so revocations show at once)."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return {}, {}
        version = (info.st_ino, info.st_mtime_ns, info.st_size)
        with self._lock:
            if self._parsed is not None and self._parsed[0] == version:
                return dict(self._parsed[1]), dict(self._parsed[2])
        try:
            payload = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}, {}
        users = {u["name"]: User(**u) for u in payload.get("users", [])}
        keys = {k["key_id"]: ApiKey(**k) for k in payload.get("keys", [])}
        with self._lock:
            self._parsed = (version, users, keys)
        return dict(users), dict(keys)

    def users(self) -> list[User]:
        return sorted(self._load()[0].values(), key=lambda u: u.name)

    def api_keys(self) -> list[ApiKey]:
        return sorted(self._load()[1].values(), key=lambda k: k.created_at)

    def has_users(self) -> bool:
        return any(not u.disabled for u in self._load()[0].values())

    def has_keys(self) -> bool:
        return any(k.active for k in self._load()[1].values())

    # -- changing ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _editing(self) -> Iterator[tuple[dict[str, User], dict[str, ApiKey]]]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / "accounts.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            users, keys = self._load()
            yield users, keys
            self._save(users, keys)

    def _save(self, users: dict[str, User], keys: dict[str, ApiKey]) -> None:
        payload: dict[str, Any] = {
            "users": [asdict(u) for u in users.values()],
            "keys": [asdict(k) for k in keys.values()],
        }
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".accounts-", suffix=".part")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(payload, handle, indent=1)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def add_user(self, name: str, password: str, role: str) -> User:
        if not _NAME.match(name):
            raise AccountError(
                f"user name {name!r}: letters, digits and . _ @ - only, at most 64 characters"
            )
        check_password(password)
        with self._editing() as (users, _):
            if name in users:
                raise AccountError(f"user {name!r} exists already")
            user = User(name, parse_role(role), _HASHER.hash(password), _now())
            users[name] = user
        return user

    def set_password(self, name: str, password: str) -> None:
        check_password(password)
        with self._editing() as (users, _):
            user = self._existing(users, name)
            users[name] = User(**{**asdict(user), "password_hash": _HASHER.hash(password)})

    def set_role(self, name: str, role: str) -> None:
        with self._editing() as (users, _):
            user = self._existing(users, name)
            users[name] = User(**{**asdict(user), "role": parse_role(role)})

    def remove_user(self, name: str) -> None:
        with self._editing() as (users, _):
            self._existing(users, name)
            del users[name]

    @staticmethod
    def _existing(users: dict[str, User], name: str) -> User:
        if name not in users:
            raise AccountError(f"no user {name!r}")
        return users[name]

    def create_key(self, name: str, role: str) -> tuple[ApiKey, str]:
        """A new key; the returned token is shown once and never stored."""
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        token = f"{KEY_PREFIX}{key_id}_{secret}"
        key = ApiKey(key_id, name, parse_role(role), _HASHER.hash(secret), _now())
        with self._editing() as (_, keys):
            keys[key_id] = key
        return key, token

    def revoke_key(self, key_id: str) -> ApiKey:
        with self._editing() as (_, keys):
            if key_id not in keys:
                raise AccountError(f"no API key {key_id!r}")
            revoked = ApiKey(**{**asdict(keys[key_id]), "revoked_at": _now()})
            keys[key_id] = revoked
        with self._lock:
            self._verified_keys = {d: v for d, v in self._verified_keys.items() if v[0] != key_id}
        return revoked

    # -- authenticating ------------------------------------------------------------------------

    def authenticate(self, name: str, password: str) -> Principal | None:
        user = self._load()[0].get(name)
        if user is None or user.disabled:
            _verify(_DUMMY_HASH, password)  # as slow as a wrong password: names do not leak
            return None
        if not _verify(user.password_hash, password):
            return None
        return Principal(name=user.name, role=user.role, kind="user")

    def principal_for_key(self, token: str) -> Principal | None:
        """The key's principal, or None for a malformed, unknown, wrong or revoked key."""
        key_id, secret = _split_token(token)
        key = self._load()[1].get(key_id) if key_id else None
        if key is None or not key.active:
            _verify(_DUMMY_HASH, secret or token)
            return None
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            cached = self._verified_keys.get(digest)
        if cached is None or cached[0] != key_id or cached[1] < time.monotonic():
            if not _verify(key.secret_hash, secret):
                return None
            with self._lock:
                self._verified_keys[digest] = (key.key_id, time.monotonic() + KEY_CACHE_S)
        return Principal(name=key.name, role=key.role, kind="api_key", key_id=key.key_id)


def _split_token(token: str) -> tuple[str | None, str]:
    if not token.startswith(KEY_PREFIX):
        return None, ""
    key_id, sep, secret = token[len(KEY_PREFIX) :].partition("_")
    return (key_id, secret) if sep and key_id and secret else (None, "")


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
