"""The stage protocol is checked when a profile loads, and the PDF text layer is versioned."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.ingest import IngestOptions
from extractors.text_layer import TEXT_LAYER_VERSION, TextLayerOptions
from pipelines.execution.config import ProfileError, available_profiles, load_profile


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


def test_batch_size_is_an_option_outside_the_config_hash(tmp_path: Path) -> None:
    plain = load_profile(str(write_profile(tmp_path, "ocr.ppocr", "order.reading")))
    path = tmp_path / "big.toml"
    path.write_text(
        'name = "t"\n[[stages]]\nkind = "ocr.ppocr"\noptions = { batch_size = 64 }\n'
        '[[stages]]\nkind = "order.reading"\n'
    )
    big = load_profile(str(path))
    assert big.build_stages()[0].pages_per_batch == 64
    assert plain.build_stages()[0].pages_per_batch == 4  # the stage's own default
    assert big.config_hash() == plain.config_hash()  # batching never changes a result


def test_runtime_reaches_every_stage_explicitly() -> None:
    from models.runtime import Runtime

    runtime = Runtime(device="cpu", threads=1)
    stages = load_profile("default").build_stages(runtime)
    assert all(stage.runtime is runtime for stage in stages)
    assert runtime.providers() == ["CPUExecutionProvider"]


def test_cuda_without_a_gpu_fails_with_a_reason() -> None:
    import onnxruntime as ort

    from models.runtime import DeviceUnavailable, Runtime

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this machine has CUDA")
    for device in ("cuda", "cuda:1"):
        with pytest.raises(DeviceUnavailable, match="has a CUDA GPU here"):
            Runtime(device=device).placement()


def test_the_runtime_threads_reach_every_model_session() -> None:
    """Workers get cores/workers threads each; a model that ignored it would oversubscribe."""
    from extractors.stage import build_stage
    from models.runtime import Runtime

    runtime = Runtime(device="cpu", threads=3)  # not what a default (every core) would give
    ocr = build_stage("ocr.ppocr", runtime=runtime)
    orientation = build_stage("preprocess.orientation", runtime=runtime)
    layout = build_stage("layout.cdla", runtime=runtime)
    sessions = [
        ocr.detector.session,  # type: ignore[attr-defined]
        ocr.recognizer.session,  # type: ignore[attr-defined]
        orientation.model.session,  # type: ignore[attr-defined]
        layout.model.session,  # type: ignore[attr-defined]
    ]
    assert [s.get_session_options().intra_op_num_threads for s in sessions] == [3, 3, 3, 3]


def test_a_profile_without_a_stage_family_is_the_benchmark_baseline(tmp_path: Path) -> None:
    kinds = ("ocr.ppocr", "order.reading", "tables.merge")
    with pytest.raises(ProfileError, match=r"tables.merge requires 'page.tables'"):
        load_profile(str(write_profile(tmp_path, *kinds)))
    base = load_profile(str(write_profile(tmp_path, "ocr.ppocr", "order.reading")))
    with pytest.raises(ProfileError, match="no stage matching"):
        base.without(["tables"])
    layout = load_profile(str(write_profile(tmp_path, "layout.cdla", "ocr.ppocr", "order.reading")))
    assert [s.kind for s in layout.without(["layout"]).stages] == ["ocr.ppocr", "order.reading"]
    with pytest.raises(ProfileError, match="requires 'lines'"):
        layout.without(["ocr"])
