"""The stage protocol is checked when a profile loads, and the PDF text layer is versioned."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.ingest import IngestOptions
from extractors.text_layer import TEXT_LAYER_VERSION, TextLayerOptions
from pipelines.config import ProfileError, available_profiles, load_profile


def write_profile(tmp_path: Path, *kinds: str, extra: str = "") -> Path:
    body = 'name = "t"\n' + extra + "".join(f'\n[[stages]]\nkind = "{k}"\n' for k in kinds)
    path = tmp_path / "t.toml"
    path.write_text(body)
    return path


@pytest.mark.parametrize("name", available_profiles())
def test_bundled_profiles_pass_the_data_flow_check(name: str) -> None:
    assert load_profile(name).stages


def test_ocr_without_reading_order_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"ocr.ppocr makes 'lines' but no later stage reads"):
        load_profile(str(write_profile(tmp_path, "ocr.ppocr")))


def test_reading_order_before_its_input_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"requires 'lines'.*ocr.ppocr makes it but runs later"):
        load_profile(str(write_profile(tmp_path, "order.reading", "ocr.ppocr", "order.reading")))


def test_layout_after_reading_order_is_refused(tmp_path: Path) -> None:
    profile = write_profile(tmp_path, "ocr.ppocr", "order.reading", "layout.cdla")
    with pytest.raises(ProfileError, match=r"reads 'regions', but layout.cdla makes it later"):
        load_profile(str(profile))


def test_reading_order_without_layout_is_a_valid_profile(tmp_path: Path) -> None:
    config = load_profile(str(write_profile(tmp_path, "ocr.ppocr", "order.reading")))
    assert [s.kind for s in config.stages] == ["ocr.ppocr", "order.reading"]


def test_text_layer_options_are_in_the_config_hash_and_its_version_recorded(
    tmp_path: Path,
) -> None:
    base = load_profile(str(write_profile(tmp_path, "ocr.ppocr", "order.reading")))
    tuned = load_profile(
        str(
            write_profile(
                tmp_path,
                "ocr.ppocr",
                "order.reading",
                extra="[ingest.text_layer]\nword_gap = 0.5\n",
            )
        )
    )
    assert tuned.ingest.text_layer == TextLayerOptions(word_gap=0.5)
    assert base.config_hash() != tuned.config_hash()
    assert base.stage_versions()["pdf"] == TEXT_LAYER_VERSION
    with pytest.raises(ValueError, match="word_gapp"):
        IngestOptions.model_validate({"text_layer": {"word_gapp": 1}})
