"""One real-browser review: upload the sample receipt, fix a word, accept, check it in SQL.

Skipped cleanly without /usr/bin/chromium (`apt-get install -y chromium fonts-dejavu-core
fonts-liberation`). Writes a screenshot and click-to-update timings to tests/e2e/artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
FOLIO = Path(sys.executable).parent / "folio"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium"),
]
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PASSWORD = "end to end password"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    workspace = tmp_path_factory.mktemp("ws")
    # A configured user: the browser signs in through the password form.
    subprocess.run(
        [
            str(FOLIO),
            "users",
            "add",
            "e2e",
            "--role",
            "reviewer",
            "-w",
            str(workspace),
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = _free_port()
    process = subprocess.Popen(
        [str(FOLIO), "app", "--workspace", str(workspace), "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "FOLIO_THREADS": "2"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.read() == b"ok":
                    break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("folio app did not become healthy")
    yield url, workspace
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def page(server: tuple[str, Path]) -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        tab = browser.new_page(viewport={"width": 1500, "height": 950})
        yield tab
        browser.close()


def _sql(workspace: Path, statement: str) -> list[dict]:
    out = subprocess.run(
        [str(FOLIO), "sql", statement, "-w", str(workspace), "-f", "json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def _idle(page: object) -> None:
    """Wait for the script run a click triggered to finish. The app flips to "running" only
    ~45 ms after a click (more on a loaded machine), so let that happen before waiting."""
    page.wait_for_timeout(250)  # type: ignore[attr-defined]
    expect(page.locator(IDLE)).to_be_visible(timeout=30_000)  # type: ignore[attr-defined]


def test_review_a_receipt(server: tuple[str, Path], page: object) -> None:
    url, workspace = server
    p = page  # playwright Page
    counts = {"clicks": 0, "keys": 0}
    p.goto(url)  # type: ignore[attr-defined]
    name = p.locator(".st-key-login_user input")  # type: ignore[attr-defined]
    expect(name).to_be_visible(timeout=30_000)
    name.fill("e2e")
    p.locator(".st-key-login_password input").fill(PASSWORD)  # type: ignore[attr-defined]
    p.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    expect(p.get_by_text("e2e · reviewer")).to_be_visible(timeout=30_000)  # type: ignore[attr-defined]
    _idle(p)

    p.get_by_role("link", name="Upload").click()  # type: ignore[attr-defined]
    uploader = p.locator(".st-key-uploads input[type=file]")  # type: ignore[attr-defined]
    uploader.set_input_files(str(ROOT / "data" / "samples" / "receipt.jpg"))
    expect(p.get_by_text("receipt.jpg").first).to_be_visible()  # type: ignore[attr-defined]
    p.get_by_role("button", name="Process").click()  # type: ignore[attr-defined]
    expect(p.get_by_text("1 processed")).to_be_visible(timeout=120_000)  # type: ignore[attr-defined]

    p.get_by_role("link", name="Documents").click()  # type: ignore[attr-defined]
    grid = p.locator(".st-key-queue")  # type: ignore[attr-defined]
    expect(grid).to_be_visible(timeout=30_000)
    _idle(p)
    box = grid.locator("canvas").first.bounding_box()
    # The grid is a canvas: click the row-selection cell of the first row.
    p.mouse.click(box["x"] + 14, box["y"] + 35 + 17)  # type: ignore[attr-defined]
    counts["clicks"] += 1
    word = p.locator('[data-box-id="p0-w27"]')  # type: ignore[attr-defined]
    expect(word).to_be_visible(timeout=30_000)
    _idle(p)

    # Full review of the receipt: click the word to fix, type the fix, Enter, accept. (J would
    # step to it only while the calibrated confidence calls it doubtful, which depends on the
    # workspace's calibration: this receipt reads cleanly at 0.9 today.)
    (loaf,) = _sql(workspace, "SELECT word_id FROM words WHERE text = 'loaf'")
    p.locator(f'[data-box-id="{loaf["word_id"]}"]').click()  # type: ignore[attr-defined]
    counts["clicks"] += 1
    fix = p.locator(".st-key-fix_text input")  # type: ignore[attr-defined]
    expect(fix).to_have_value("loaf", timeout=15_000)
    expect(fix).to_be_focused()
    fix.fill("loaves")
    counts["keys"] += len("loaves")
    fix.press("Enter")
    counts["keys"] += 1
    expect(p.get_by_text("Saved “loaves”").first).to_be_visible(timeout=15_000)  # type: ignore[attr-defined]
    _idle(p)

    # Entities: select the total amount on the page, label it, E adds it.
    (total,) = _sql(workspace, "SELECT word_id FROM words WHERE text = '12.95' ORDER BY word_no")[
        :1
    ]
    p.locator(f'[data-box-id="{total["word_id"]}"]').click()  # type: ignore[attr-defined]
    counts["clicks"] += 1
    expect(p.get_by_text(re.compile(rf"word {total['word_id']}\b"))).to_be_visible()  # type: ignore[attr-defined]
    _idle(p)
    p.locator(".st-key-new_label").click()  # type: ignore[attr-defined]
    p.get_by_role("option", name="total").click()  # type: ignore[attr-defined]
    counts["clicks"] += 2
    # The choice reruns the script; wait until it shows before pressing Add.
    label = p.get_by_role("combobox", name="Entity label")  # type: ignore[attr-defined]
    expect(label).to_have_value("total")
    _idle(p)
    p.locator(".st-key-add_entity button").click()  # type: ignore[attr-defined]
    counts["clicks"] += 1
    # The new entity's box on the page (persistent, unlike the toast).
    added = p.locator('[data-box-id^="e-review-"]')  # type: ignore[attr-defined]
    expect(added).to_have_count(1, timeout=15_000)
    _idle(p)
    p.locator(".st-key-accept_page button").click()  # type: ignore[attr-defined]
    counts["clicks"] += 1
    expect(p.get_by_text("Accepted page 1").first).to_be_visible(timeout=15_000)  # type: ignore[attr-defined]
    _idle(p)

    rows = _sql(workspace, "SELECT word_id, text, corrected_by FROM reviewed_words WHERE corrected")
    assert rows == [{"word_id": "p0-w27", "text": "loaves", "corrected_by": "e2e"}]
    entities = _sql(
        workspace, "SELECT label, text, corrected_by FROM reviewed_entities WHERE corrected"
    )
    assert entities == [{"label": "total", "text": "12.95", "corrected_by": "e2e"}]
    reviews = _sql(workspace, "SELECT reviewed, last_reviewer FROM reviews")
    assert reviews == [{"reviewed": True, "last_reviewer": "e2e"}]

    # Back on the document (accepting the last page moves on; it is the only one, so it stays).
    ARTIFACTS.mkdir(exist_ok=True)
    timings = _click_to_update(
        p,
        [
            "p0-w0",
            "p0-w5",
            "p0-w14",
            "p0-w16",
            "p0-w19",
            "p0-w21",
            "p0-w24",
            "p0-w30",
            "p0-w33",
            "p0-w38",
            "p0-w3",
        ],
    )
    p.screenshot(path=str(ARTIFACTS / "review.png"), full_page=False)  # type: ignore[attr-defined]
    (ARTIFACTS / "timings.json").write_text(
        json.dumps(
            {
                "click_to_update_s": timings,
                "median_s": statistics.median(timings),
                "review_clicks": counts["clicks"],
                "review_keys": counts["keys"],
            },
            indent=1,
        )
    )


def _click_to_update(p: object, ids: list[str]) -> list[float]:
    """Seconds from a click on a box to the side panel showing that element."""
    timings = []
    for element_id in ids:
        started = time.perf_counter()
        p.locator(f'[data-box-id="{element_id}"]').click()  # type: ignore[attr-defined]
        # \b: "word p0-w3" must not match a panel still showing "word p0-w38".
        shown = p.get_by_text(re.compile(rf"word {element_id}\b"))  # type: ignore[attr-defined]
        expect(shown).to_be_visible(timeout=15_000)
        timings.append(time.perf_counter() - started)
        _idle(p)
    return timings


def test_dashboards_draw_the_reviewed_workspace(server: tuple[str, Path], page: object) -> None:
    """After the review above: two evaluations recorded, then every chart with data is drawn;
    each is saved as a screenshot in tests/e2e/artifacts/dashboard-<name>.png."""
    from pipelines.store.evaluations import Metric, evaluation_record, stage_evaluation
    from pipelines.store.loader import load_staged
    from pipelines.store.workspace import Workspace

    _, workspace = server
    if not _sql(workspace, "SELECT document_id FROM documents"):
        pytest.skip("draws the workspace test_review_a_receipt leaves (run the module)")
    ws = Workspace(workspace)
    for n, (day, f1) in enumerate([("25", 0.78), ("27", 0.84)]):
        run = {"started_at": f"2026-11-{day}T08:00:00+00:00", "dataset": "sroie",
               "split": "dev", "profile": "default", "n_items": 20}  # fmt: skip
        stage_evaluation(
            ws, evaluation_record(f"e2e-{n}", run, [Metric("fields", "f1", "micro", f1, 20)])
        )
    load_staged(ws, kinds=["evals"])
    p = page  # playwright Page
    p.get_by_role("link", name="Dashboards").click()  # type: ignore[attr-defined]
    charts = p.locator(".js-plotly-plot")  # type: ignore[attr-defined]
    expect(charts.first).to_be_visible(timeout=60_000)
    _idle(p)
    keys = p.locator('[class*="st-key-dash_"]:has(.js-plotly-plot)')  # type: ignore[attr-defined]
    names = [
        re.search(r"st-key-dash_(\w+)", keys.nth(i).get_attribute("class") or "")
        for i in range(keys.count())
    ]
    drawn = sorted({m.group(1) for m in names if m})
    # the receipt's run, its confidences, its review and the two evaluations have data
    assert {"throughput", "confidence", "evaluations"} <= set(drawn), drawn
    ARTIFACTS.mkdir(exist_ok=True)
    for name in drawn:
        chart = p.locator(f".st-key-dash_{name}")  # type: ignore[attr-defined]
        chart.scroll_into_view_if_needed()
        chart.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"))
    assert p.get_by_text("Traceback").count() == 0  # type: ignore[attr-defined]
