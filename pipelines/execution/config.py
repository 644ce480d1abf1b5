"""Pipeline profiles: TOML files listing the stages to run, validated when loaded.

A profile names its stages in order; a stage not wanted is simply absent (no `enabled` flags).
The config hash covers every stage's kind, version and fully-defaulted options plus the ingest
options, so any change that can alter results makes a new run of a document.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from extractors.ingest import IngestOptions
from extractors.stage import AnyStage, build_stage, check_data_flow
from extractors.text_layer import SOURCE as TEXT_LAYER_SOURCE
from extractors.text_layer import TEXT_LAYER_VERSION
from models.runtime import DEFAULT_RUNTIME, Runtime

PROFILES_DIR = Path(__file__).resolve().parents[1] / "profiles"


class StageSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    options: dict[str, Any] = Field(default_factory=dict)


class PipelineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    timeout_s: float = Field(default=1800.0, gt=0, description="time limit for one document")
    stall_timeout_s: float = Field(
        default=300.0, gt=0, description="limit on time without finishing a page (a runaway page)"
    )
    documents_per_batch: int = Field(
        default=4,
        ge=1,
        le=256,
        description="documents whose pages may share a stage batch (one-page scans fill batches)",
    )
    ingest: IngestOptions = Field(default_factory=IngestOptions)
    stages: list[StageSpec]

    def without(self, prefixes: list[str]) -> PipelineConfig:
        """This profile minus the stages whose kind starts with one of `prefixes` (`tables`
        drops every table stage): the baseline a benchmark compares a stage's cost against."""
        kept = [s for s in self.stages if not any(s.kind.startswith(p) for p in prefixes)]
        if len(kept) == len(self.stages):
            raise ProfileError(f"profile {self.name!r} has no stage matching {prefixes}")
        config = self.model_copy(
            update={"name": f"{self.name} without {','.join(prefixes)}", "stages": kept}
        )
        try:
            check_data_flow(config.build_stages())
        except ValueError as error:
            raise ProfileError(f"{config.name}: {error}") from error
        return config

    def build_stages(self, runtime: Runtime = DEFAULT_RUNTIME) -> list[AnyStage]:
        return [build_stage(spec.kind, spec.options, runtime) for spec in self.stages]

    def stage_versions(self) -> dict[str, str]:
        """Every stage's version, the PDF text layer's (source `pdf`) included."""
        versions = {stage.name: stage.recorded_version for stage in self.build_stages()}
        return {TEXT_LAYER_SOURCE: TEXT_LAYER_VERSION, **versions}

    def config_hash(self) -> str:
        """Hash of everything that can change a result (the password is not part of it)."""
        stages = [
            {"kind": s.kind, "version": s.version, "options": s.options.hashed()}
            for s in self.build_stages()
        ]
        ingest = self.ingest.model_dump(mode="json", exclude={"password"})
        ingest["text_layer_version"] = TEXT_LAYER_VERSION
        canonical = json.dumps({"ingest": ingest, "stages": stages}, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


class ProfileError(ValueError):
    """A profile that does not exist or does not validate."""


def available_profiles() -> list[str]:
    return sorted(path.stem for path in PROFILES_DIR.glob("*.toml"))


def load_profile(name_or_path: str) -> PipelineConfig:
    """Load a bundled profile by name (`default`, `fast`, ...) or a TOML file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILES_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        known = ", ".join(available_profiles())
        raise ProfileError(f"no profile {name_or_path!r} (bundled profiles: {known})")
    try:
        config = PipelineConfig.model_validate(tomllib.loads(path.read_text()))
        check_data_flow(config.build_stages())  # unknown kinds, option typos, missing inputs
    except (ValidationError, tomllib.TOMLDecodeError, ValueError) as error:
        raise ProfileError(f"profile {path}: {error}") from error
    return config


def model_file_problems() -> list[str]:
    """Why the model files every profile may need are not usable (empty when all are there and
    match their checksums): what a service's readiness check asks."""
    from models.assets import ASSETS, ModelAssetError, model_path
    from models.fetch import SLANET, weights_path

    problems = []
    for name in sorted(ASSETS):
        try:
            model_path(name)
        except ModelAssetError as error:
            problems.append(f"{name}: {error}")
    try:
        weights_path(SLANET)
    except ModelAssetError as error:
        problems.append(f"{SLANET.name}: {error}")
    return problems
