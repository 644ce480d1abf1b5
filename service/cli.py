"""`folio serve` and `folio worker`, added to the `folio` command of pipelines.cli (the console
script points here, so `pipelines` never imports the service)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

# Imported for their commands: `folio erase`/`retention`, `folio users`/`keys`/`audit`,
# `folio train`/`evaluate-learning`.
from pipelines import cli_erase, cli_learning, cli_security  # noqa: F401
from pipelines.cli import WorkspaceOpt, _bind_mode, _fail, app, console, err
from pipelines.security.accounts import AccountStore
from service.settings import ServiceSettings

RedisOpt = Annotated[
    str | None,
    typer.Option("--redis-url", help="Redis for jobs (default: $FOLIO_REDIS_URL or local 6379)"),
]


DeviceOpt = Annotated[
    str | None,
    typer.Option(
        help="auto (CUDA when a GPU is seen), cpu, cuda or cuda:N (default: $FOLIO_DEVICE or auto)"
    ),
]


def _settings(**values: Any) -> ServiceSettings:
    """Settings from flags and FOLIO_* variables, or a readable refusal of a bad value."""
    try:
        return ServiceSettings.from_env(**values)
    except ValidationError as error:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()))


@app.command()
def serve(
    workspace: WorkspaceOpt = None,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    redis_url: RedisOpt = None,
    device: DeviceOpt = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """The HTTP API (jobs, results, health, metrics) over Redis; run `folio worker` beside it.
    Limits come from FOLIO_* variables (see docs/service.md)."""
    import uvicorn

    from service import logs
    from service.api import create_app

    settings = _settings(workspace=workspace, redis_url=redis_url, host=host, device=device)
    mode = _bind_mode(
        host,
        AccountStore(settings.workspace).has_keys(),
        "API keys",
        f"folio keys create NAME --role reviewer -w {settings.workspace}",
    )
    logs.configure(log_level)
    who = "API keys required" if mode == "accounts" else "no API keys: local admin, loopback only"
    console.print(f"Folio service on http://{host}:{port} (workspace {settings.workspace}; {who})")
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)


@app.command()
def worker(
    workspace: WorkspaceOpt = None,
    queue: Annotated[
        list[str] | None,
        typer.Option("--queue", "-q", help="models (page stages), cpu (document stages); repeat"),
    ] = None,
    redis_url: RedisOpt = None,
    profile: Annotated[
        list[str] | None, typer.Option("--profile", "-p", help="profiles to warm up (repeat)")
    ] = None,
    max_jobs: Annotated[
        int | None, typer.Option(min=1, help="steps before the worker exits to be replaced")
    ] = None,
    max_rss_mb: Annotated[
        int, typer.Option(min=0, help="exit to be replaced when RSS passes this (0: no limit)")
    ] = 0,
    heartbeat_file: Annotated[
        Path | None, typer.Option(help="touched while healthy (for liveness probes)")
    ] = None,
    burst: Annotated[bool, typer.Option(help="exit when the queues are empty")] = False,
    threads: Annotated[
        int,
        typer.Option(
            min=0,
            help="CPU threads per model session (0: every core); "
            "cores / workers when several share a machine",
        ),
    ] = 0,
    device: DeviceOpt = None,
    fork: Annotated[
        bool,
        typer.Option(
            "--fork/--in-process",
            help="each step in a forked work horse (isolated, slower) or in the worker (default)",
        ),
    ] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """A worker for the service's queues (both by default)."""
    from models.runtime import Runtime
    from service import logs
    from service.tasks import QUEUES
    from service.worker import run_worker

    settings = _settings(workspace=workspace, redis_url=redis_url, device=device)
    logs.configure(log_level)
    try:
        run_worker(
            settings.redis_url,
            queue or list(QUEUES),
            profile or [settings.profile],
            max_jobs=max_jobs,
            max_rss_mb=max_rss_mb,
            heartbeat_file=heartbeat_file,
            burst=burst,
            runtime=Runtime(device=settings.device, threads=threads),
            fork=fork,
        )
    except ValueError as error:
        _fail(str(error))


def main() -> None:
    """The `folio` console script: every command, and refusals that concern them all (asked-for
    encryption that cannot be delivered) as a plain error instead of a traceback."""
    from pipelines.security.encryption import EncryptionUnavailable

    try:
        app()
    except EncryptionUnavailable as error:
        err.print(f"[bold red]error:[/] {error}")
        sys.exit(2)


__all__ = ["app", "main"]


if __name__ == "__main__":
    main()
