"""The shared spaCy loader: components excluded at load, torch left importable."""

from __future__ import annotations

import json
import subprocess
import sys

from extractors.stages import spacy_pipelines

_PROBE = """
import importlib.util, json, sys
installed = importlib.util.find_spec("torch") is not None
from extractors.stages import spacy_pipelines as s
nlp = s.load(s.MODEL, ("ner",))
during = "torch" in sys.modules
if installed:
    import torch  # still importable after spaCy's import
print(json.dumps({"pipes": nlp.pipe_names, "torch_during_load": during,
                  "installed": installed, "torch_after": "torch" in sys.modules}))
"""


def test_spacy_loads_without_importing_torch_and_torch_still_imports() -> None:
    # A fresh interpreter: in the test process torch may already be imported by other tests.
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["pipes"] == ["ner"]
    assert found["torch_during_load"] is False
    assert found["torch_after"] is found["installed"]


def test_pipelines_are_cached_per_component_set() -> None:
    ner = spacy_pipelines.load(spacy_pipelines.MODEL, ("ner",))
    assert spacy_pipelines.load(spacy_pipelines.MODEL, ("ner",)) is ner
    parser = spacy_pipelines.load(spacy_pipelines.MODEL, ("tok2vec", "parser"))
    assert parser is not ner and parser.pipe_names == ["tok2vec", "parser"]
