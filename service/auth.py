"""Who is calling: API keys (argon2id, pipelines.security.accounts), roles per endpoint, rate
limits in Redis (so every replica counts together), audit events for what they did.

A key goes in `Authorization: Bearer <key>` or `X-API-Key: <key>`. Without any key configured
the service answers only as the local admin, and only when bound to loopback (`folio serve`
refuses any other address then): the same rule as the app (pipelines.security.policy).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from redis import Redis

from pipelines.security import audit
from pipelines.security.accounts import AccountStore
from pipelines.security.policy import is_loopback
from pipelines.security.principal import Action, Principal, local_principal
from pipelines.store.workspace import Workspace
from service.settings import ServiceSettings

RATE_PREFIX = "folio:rate:"
WINDOW_S = 60


class ServiceAuth:
    def __init__(self, settings: ServiceSettings, workspace: Workspace, redis: Redis) -> None:
        self.settings = settings
        self.workspace = workspace
        self.redis = redis
        self.accounts = AccountStore(workspace.root)

    def principal(self, request: Request) -> Principal:
        token = _presented_key(request)
        if not self.accounts.has_keys():
            if is_loopback(self.settings.host):
                return local_principal()
            raise HTTPException(
                401, "no API keys are configured on this server; an admin runs `folio keys create`"
            )
        if token is None:
            self._count_failure(request)
            raise HTTPException(
                401,
                "an API key is required (Authorization: Bearer <key>, or X-API-Key)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = self.accounts.principal_for_key(token)
        if principal is None:
            self._count_failure(request)
            raise HTTPException(
                401, "the API key is unknown or revoked", headers={"WWW-Authenticate": "Bearer"}
            )
        self._limit(f"key:{principal.key_id}", self.settings.rate_limit_per_minute)
        return principal

    def authorize(self, request: Request, action: Action) -> Principal:
        """The caller's principal; 403 (and an audit event) unless its role allows `action`."""
        principal = self.principal(request)
        if not principal.can(action):
            self.record(principal, action, request.url.path, outcome="denied")
            raise HTTPException(
                403, f"the {principal.role} role may not {action} (key {principal.key_id})"
            )
        return principal

    def record(
        self, principal: Principal, action: str, target: str, outcome: str = "ok", **details: Any
    ) -> None:
        audit.record(self.workspace, principal, action, target, details or None, outcome)

    def _count_failure(self, request: Request) -> None:
        """Failed keys count per client address: guessing stops at the limit."""
        host = request.client.host if request.client else "unknown"
        self._limit(f"fail:{host}", self.settings.failed_auth_per_minute)

    def _limit(self, bucket: str, per_minute: int) -> None:
        window = int(time.time() // WINDOW_S)
        key = f"{RATE_PREFIX}{bucket}:{window}"
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, WINDOW_S * 2)
        count = int(pipe.execute()[0])
        if count > per_minute:
            retry = WINDOW_S - int(time.time()) % WINDOW_S
            raise HTTPException(
                429,
                f"rate limit: more than {per_minute} requests a minute "
                f"({self.settings.env_name('rate_limit_per_minute')})",
                headers={"Retry-After": str(retry)},
            )


def _requiring(action: Action) -> Callable[[Request], Principal]:
    def dependency(request: Request) -> Principal:
        auth: ServiceAuth = request.app.state.auth
        return auth.authorize(request, action)

    return dependency


# Endpoint parameters: the caller's principal, refused unless the role allows the action.
Viewer = Annotated[Principal, Depends(_requiring("view"))]
Uploader = Annotated[Principal, Depends(_requiring("upload"))]
Exporter = Annotated[Principal, Depends(_requiring("export"))]


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or None


def owner_id(principal: Principal) -> str:
    """Whose jobs these are, for per-key limits and visibility: the key id, or the local user."""
    return f"key-{principal.key_id}" if principal.key_id else f"local-{principal.name}"
