"""Service settings: flags of `folio serve`/`folio worker`, else FOLIO_* environment variables,
else defaults. Limits are on by default; each 4xx error names the setting that refused it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.runtime import parse_device
from pipelines.store.workspace import resolve_workspace

ENV_PREFIX = "FOLIO_"


class ServiceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    workspace: Path
    redis_url: str = "redis://127.0.0.1:6379/0"
    profile: str = "default"
    # Limits (bytes of one upload, pages of one document, seconds of one processing step,
    # jobs one client key may have queued or running at once).
    max_upload_bytes: int = Field(50 * 1024 * 1024, gt=0)
    max_pages: int = Field(200, gt=0)
    document_timeout_s: int = Field(600, gt=0)
    max_active_jobs_per_key: int = Field(50, gt=0)
    # The synchronous convert endpoint: short documents only, a bounded wait.
    convert_max_pages: int = Field(10, gt=0)
    convert_wait_s: float = Field(60.0, gt=0)
    # Server-side folders an admin allows jobs to name by path (none by default).
    allowed_paths: tuple[Path, ...] = ()
    # How many times a step whose worker died is tried again before the job fails.
    retries: int = Field(2, ge=0)
    # Terminal job records are kept this long in Redis (the results stay in the workspace).
    job_ttl_s: int = Field(7 * 24 * 3600, gt=0)
    # The address `folio serve` binds: without API keys only loopback is served.
    host: str = "127.0.0.1"
    # Requests per API key and minute; failed authentications per client address and minute.
    rate_limit_per_minute: int = Field(600, gt=0)
    failed_auth_per_minute: int = Field(20, gt=0)
    # Where workers run the models: auto (CUDA when a GPU is seen), cpu, cuda or cuda:N; one
    # setting (FOLIO_DEVICE) for `folio serve` (reported by /version) and `folio worker`.
    device: str = "auto"

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        return parse_device(value)

    @classmethod
    def from_env(cls, **overrides: Any) -> ServiceSettings:
        """Defaults < environment (FOLIO_REDIS_URL, FOLIO_MAX_PAGES, ...) < explicit values."""
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = os.environ.get(ENV_PREFIX + name.upper())
            if raw is None:
                continue
            if name == "allowed_paths":
                values[name] = tuple(Path(p) for p in raw.split(os.pathsep) if p)
            else:
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["workspace"] = resolve_workspace(values.get("workspace"))
        return cls.model_validate(values)

    def env_name(self, field: str) -> str:
        return ENV_PREFIX + field.upper()
