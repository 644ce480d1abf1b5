"""Schema-driven fuzzing of the service API: for every operation in its OpenAPI schema, requests
with generated path ids, query values (valid, out of range, hostile strings), JSON bodies and
hand-built multipart uploads (hostile file names: traversal, absolute paths, NUL and CR/LF,
10,000 characters, bidi overrides, bytes that are not UTF-8; hostile contents: bombs, broken
PDFs). The contract: no 5xx but the designed ones, every 4xx says why in `detail`, and nothing
appears outside the workspace (nor stays in its upload folder).

Bugs in service/ found this way are regression tests at the end of this module.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import fakeredis
import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from service.api import create_app
from service.settings import ServiceSettings
from tests.fuzz.contract import FUZZ, examples
from tests.fuzz.hostile import CASES
from tests.unit.test_text_layer import PdfPageSpec, make_pdf, text

OPERATIONS = (
    ("POST", "/v1/jobs"),
    ("GET", "/v1/jobs"),
    ("POST", "/v1/jobs/from-path"),
    ("GET", "/v1/jobs/{job_id}"),
    ("POST", "/v1/jobs/{job_id}/cancel"),
    ("GET", "/v1/jobs/{job_id}/result"),
    ("POST", "/v1/convert"),
    ("GET", "/livez"),
    ("GET", "/readyz"),
    ("GET", "/version"),
    ("GET", "/metrics"),
)
# 5xx the API answers by design, with a body that says why.
DESIGNED_5XX = {("/readyz", 503), ("/v1/convert", 504)}
UPLOAD_LIMIT = 2 << 20
HOSTILE_STRINGS = (
    "../../etc/passwd", "..\\..\\windows\\win.ini", "/abs/path.pdf", "/etc/shadow", "~/.ssh/id_rsa",
    "a\x00b.pdf", "x.pdf\x00", "x" * 10_000 + ".pdf", "\u202egnp.exe.pdf", "..", ".", "",
    "con.pdf", "a/../../b.pdf", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "file:///etc/passwd",
    "\r\nX-Injected: 1", "$(id).pdf", "'; DROP TABLE documents; --", "*", "?", "#", "%00",
    "ü" * 300, "\ufeffbom.pdf", "CON", "a" * 255 + ".pdf", "\u0085\u2028\u2029.pdf",
)  # fmt: skip
FILENAME_BYTES = (
    b"../../etc/passwd", b"/abs/path.pdf", b"a\x00b.pdf", b"x.pdf\x00", b"x.pd\x00f", b"",
    b"\xff\xfe\xfd.pdf", b"a.pdf\r\nX-Injected: 1", b'quote".pdf', b"x" * 10_000 + b".pdf",
    b"\xe2\x80\xaegnp.pdf", b"C:\\\\evil\\\\..\\\\x.pdf", b"a." + b"\x01" * 12, b"..", b"%00.pdf",
)  # fmt: skip


@dataclass(frozen=True)
class Service:
    client: TestClient
    root: Path  # holds the workspace and what must stay untouched around it
    workspace: Path
    job_ids: tuple[str, ...]  # real jobs, so ids also hit existing records


def _outside(root: Path, workspace: Path) -> set[tuple[str, int]]:
    found = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if Path(folder, d) != workspace]
        found |= {(str(Path(folder, f).relative_to(root)), Path(folder, f).stat().st_size)
                  for f in files}  # fmt: skip
    return found


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("api")
    (root / "secret.txt").write_text("outside the workspace")  # a neighbour to keep intact
    workspace = root / "ws"
    settings = ServiceSettings.model_validate(
        {"workspace": workspace, "profile": "default", "convert_wait_s": 0.2,
         "max_upload_bytes": UPLOAD_LIMIT}
    )  # fmt: skip
    app = create_app(settings, redis=fakeredis.FakeRedis(), run_loop=False)
    with TestClient(app) as client:  # app errors raise here: a real client would get a 500
        ids = []
        for n in range(2):
            pdf = make_pdf([PdfPageSpec(text(72, 700, f"Job {n}"))])
            response = client.post("/v1/jobs", files={"file": (f"job{n}.pdf", pdf)})
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        yield Service(client, root, workspace, tuple(ids))


@pytest.fixture(scope="module")
def contents(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, ...]:
    """Upload bodies: a good PDF, nothing, junk, and hostile files (the 1 GiB zip bomb too)."""
    folder = tmp_path_factory.mktemp("contents")
    hostile = {case.name: case for case in CASES}
    picked = ("zip-bomb.docx", "claims-100000x100000.png", "missing-pages.pdf", "truncated.pdf",
              "encrypted.pdf", "laughs-content-types.docx", "really-an-xlsx.pdf")  # fmt: skip
    good = make_pdf([PdfPageSpec(text(72, 700, "Invoice 4711"))])
    return (good, b"", b"\x00" * 64, b"%PDF-1.4\n", *(hostile[n].build(folder) for n in picked))


# --- strategies -----------------------------------------------------------------------------

hostile_text = st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=40)


def values_for(schema: dict[str, Any]) -> st.SearchStrategy[str | None]:
    """Query values for a parameter: what its schema allows, its edges, and anything else."""
    if "anyOf" in schema:
        return st.one_of([values_for(option) for option in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "integer":
        low, high = schema.get("minimum", -(2**31)), schema.get("maximum", 2**31)
        edges = st.sampled_from([str(v) for v in (low - 1, low, high, high + 1, 2**63, -(2**63))])
        return st.integers(low, high).map(str) | edges | hostile_text
    if kind == "boolean":
        return st.sampled_from(["true", "false", "1", "0", "yes", "TRUE", "maybe"]) | hostile_text
    allowed = re.fullmatch(r"\^\((.+)\)\$", schema.get("pattern", ""))
    if allowed:
        return st.sampled_from(allowed.group(1).split("|")) | hostile_text
    return hostile_text


def multipart(filename: bytes, content: bytes, field: bytes = b"file") -> tuple[bytes, str]:
    """A multipart body written by hand, so the file name's bytes reach the server unchanged
    (HTTP clients escape NUL, quotes and line breaks)."""
    boundary = b"folio-fuzz-4f1a9c"
    body = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + field
            + b'"; filename="' + filename + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
            + content + b"\r\n--" + boundary + b"--\r\n")  # fmt: skip
    return body, "multipart/form-data; boundary=" + boundary.decode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | hostile_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=8,
)


@st.composite
def requests(draw: st.DrawFn, method: str, path: str, spec: dict[str, Any],
             service: Service, contents: tuple[bytes, ...]) -> dict[str, Any]:  # fmt: skip
    """Keyword arguments of `client.request` for one generated call of the operation."""
    operation = spec["paths"][path][method.lower()]
    url, params = path, {}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            job_id = draw(st.sampled_from(service.job_ids) | hostile_text)
            escaped = quote(job_id, safe="") if draw(st.booleans()) else quote(job_id, safe="/")
            url = url.replace("{" + parameter["name"] + "}", escaped or "x")
        elif (value := draw(values_for(parameter["schema"]))) is not None:
            params[parameter["name"]] = value
    params.update(draw(st.dictionaries(st.sampled_from(["x", "path", "file"]), hostile_text,
                                       max_size=1)))  # fmt: skip
    call: dict[str, Any] = {"method": method, "url": url, "params": params}
    body = operation.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in body:
        name = draw(st.sampled_from(FILENAME_BYTES) | st.binary(max_size=30))
        field = draw(st.sampled_from([b"file", b"file", b"file", b"upload", b""]))
        call["content"], kind = multipart(name, draw(st.sampled_from(contents)), field)
        call["headers"] = {"content-type": kind}
    elif "application/json" in body:
        document = st.fixed_dictionaries(
            {"path": hostile_text | json_values}, optional={"profile": hostile_text | json_values}
        )
        # Encoded here: NaN and Infinity go out as Python writes them (httpx refuses them).
        payload = json.dumps(draw(document | json_values)).encode()
        if draw(st.integers(0, 9)) == 0:  # not JSON at all
            payload = draw(st.binary(max_size=40))
        call["content"] = payload
        call["headers"] = {"content-type": "application/json"}
    return call


# --- the contract ---------------------------------------------------------------------------


def assert_answer(path: str, response: httpx.Response) -> None:
    where = f"{response.request.method} {response.request.url}"
    assert response.status_code < 500 or (path, response.status_code) in DESIGNED_5XX, (
        f"{where} -> {response.status_code}: {response.text[:500]}"
    )
    if 400 <= response.status_code < 600 and path != "/readyz":
        body = response.json()
        detail = body.get("detail") if isinstance(body, dict) else None
        if isinstance(detail, list):  # request validation: one readable message per field
            assert detail and all(isinstance(e, dict) and e.get("msg") for e in detail), body
        else:
            assert isinstance(detail, str) and re.search(r"[A-Za-z]{3,}", detail), (
                f"{where} -> {response.status_code} without a readable detail: {body}"
            )


def assert_nothing_touched(service: Service, before: set[tuple[str, int]]) -> None:
    assert _outside(service.root, service.workspace) == before, "files outside the workspace"
    uploads = service.workspace / "service" / "uploads"
    assert not list(uploads.iterdir()), "an upload stayed in the upload folder"
    for stored in (service.workspace / "files").iterdir():  # named by content hash only
        assert re.fullmatch(r"[0-9a-f]{64}(\..*)?", stored.name, re.DOTALL), stored.name


def test_every_operation_in_the_schema_is_fuzzed(service: Service) -> None:
    spec = service.client.app.openapi()  # type: ignore[attr-defined]
    schema_operations = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert schema_operations == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_generated_requests_get_a_clean_answer(
    service: Service, contents: tuple[bytes, ...], method: str, path: str
) -> None:
    spec = service.client.app.openapi()  # type: ignore[attr-defined]
    before = _outside(service.root, service.workspace)
    plain = not spec["paths"][path][method.lower()].get("parameters") and method == "GET"

    @settings(FUZZ, max_examples=examples(5 if plain else 60))
    @given(call=requests(method, path, spec, service, contents))
    def run(call: dict[str, Any]) -> None:
        response = service.client.request(**call)  # an error raised in the app fails here
        assert_answer(path, response)
        assert_nothing_touched(service, before)

    run()


# --- bugs the fuzzing found in service/, fixed: each stays as a regression test -------------


def _upload(client: TestClient, filename: bytes, content: bytes) -> httpx.Response:
    body, kind = multipart(filename, content)
    return client.post("/v1/jobs", content=body, headers={"content-type": kind})


def test_a_nul_byte_in_an_upload_name_suffix_is_refused(service: Service) -> None:
    good = make_pdf([PdfPageSpec(text(72, 700, "NUL in the name"))])
    response = _upload(service.client, b"invoice.pdf\x00", good)
    assert response.status_code < 500


def test_a_nul_byte_in_a_server_side_path_is_refused(service: Service) -> None:
    response = service.client.post("/v1/jobs/from-path", json={"path": "/tmp/a\x00.pdf"})
    assert 400 <= response.status_code < 500 and response.json()["detail"]


def test_stored_copies_take_no_control_characters_from_the_upload_name(service: Service) -> None:
    good = make_pdf([PdfPageSpec(text(72, 700, "Control characters"))])
    assert _upload(service.client, b"scan.\x01\x1b[31m", good).status_code == 202
    names = [p.name for p in (service.workspace / "files").iterdir()]
    assert all(name.isprintable() for name in names), names


def test_the_same_bytes_are_stored_once_whatever_their_names(service: Service) -> None:
    good = make_pdf([PdfPageSpec(text(72, 700, "Stored once"))])
    for name in (b"a.pdf", b"a.PDF.x", b"b.pdf1", b"c.p", b"d.q"):
        assert _upload(service.client, name, good).status_code == 202
    digest = hashlib.sha256(good).hexdigest()
    copies = [p for p in (service.workspace / "files").iterdir() if p.name.startswith(digest)]
    assert len(copies) == 1, [p.name for p in copies]


def test_a_non_finite_number_in_a_json_body_gets_a_422(service: Service) -> None:
    response = service.client.post(
        "/v1/jobs/from-path",
        content=b'{"path": Infinity}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422 and response.json()["detail"]
