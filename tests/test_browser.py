"""The in-browser colouriser, used as a reader would in headless Chromium: a photo chosen through the page's own
file input comes out as ``colourise`` colours it, a photo above the size limit is refused with a message, and a
page whose colouring is wrong is caught."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from colourlib import export, runs
from colourlib.model import build_network
from study import paths as study_paths
from study.config import preset_config

pytest.importorskip("onnxruntime")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    (CHROMIUM is None or shutil.which("chromedriver") is None)
    and not os.environ.get("COLOURLIB_REQUIRE_CHROMIUM"),
    reason="Chromium and chromedriver are not installed (CI installs them, COLOURLIB_REQUIRE_CHROMIUM=1)",
)
PAGE = (Path(__file__).parents[1] / "book" / "colourise.md").read_text()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A one-page site like the built book's colourise.html, serving a Lite0 colour-class network of random
    weights exported as the study exports the default model, and the run it came from."""
    import keras

    from study.report.web import write_assets

    root = tmp_path_factory.mktemp("site")
    run = root / "run"
    run.mkdir()
    keras.utils.set_random_seed(5)
    model = build_network(64, "efficientnet-lite0", None, classes=True, decoder="skips")
    model.save_weights(run / runs.RunFolder.WEIGHTS)
    preset_config(
        "tiny", image_size=64, encoder="efficientnet-lite0", loss="classification", decoder="skips"
    ).save(run / "config.json")
    export.export(run, run / "export")
    html = root / "html"
    write_assets(run / "export", html / "colouriser")
    shutil.copy(
        study_paths.BOOK_DIR / "_extra" / "colouriser" / "colourise.js", html / "colouriser"
    )
    snippet = PAGE.split("```{raw} html", 1)[1].split("```", 1)[
        0
    ]  # the page's own script tags and box
    (html / "colourise.html").write_text(
        f"<html><head><meta charset='utf-8'></head><body><main>{snippet}</main></body></html>"
    )
    return html, run


def _reference(run):
    def colourise_with(photo: Path, out: Path) -> Path:
        from colourlib.apps.colourise import colourise

        assert colourise([str(photo), "-o", str(out), "--run", str(run), "--overwrite"]) == 0
        return out / photo.name

    return colourise_with


@pytest.mark.parametrize("served", [False, True], ids=["from files", "over HTTP"])
def test_a_photo_chosen_on_the_page_comes_out_as_colourise_colours_it(site, tmp_path, served):
    from PIL import Image

    from study.report.browser import COLOURISER_TOLERANCE, check_colouriser

    html, run = site
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:300, 0:411]
    photo = (
        np.stack([xx / 411, yy / 300, (xx + yy) / 711], -1) * 200 + rng.random((300, 411, 3)) * 55
    )
    Image.fromarray(photo.astype(np.uint8)).save(tmp_path / "photo.png")
    report = check_colouriser(
        html, CHROMIUM, tmp_path / "photo.png", reference=_reference(run), served=served
    )
    assert report.problems == []
    assert report.photo.endswith("(over HTTP)" if served else "(from files)")
    assert (
        0 <= report.mean_ciede2000 < 0.1 < COLOURISER_TOLERANCE
    )  # rounding apart, the same colours
    assert report.colour_seconds > 0 and report.load_seconds > 0


def test_a_page_that_colours_wrongly_is_caught(site, tmp_path):
    from PIL import Image

    from study.report.browser import check_colouriser

    html, run = site
    broken = tmp_path / "html"
    shutil.copytree(html, broken)
    script = broken / "colouriser" / "colourise.js"
    # a page that forgot the photo's own lightness and used the squashed one's mean: wrong colours everywhere
    text = script.read_text().replace("col.labToBytes(lightness[i],", "col.labToBytes(50,")
    assert text != script.read_text()
    script.write_text(text)
    rng = np.random.default_rng(1)
    Image.fromarray((rng.random((200, 260, 3)) * 255).astype(np.uint8)).save(tmp_path / "p.png")
    report = check_colouriser(broken, CHROMIUM, tmp_path / "p.png", reference=_reference(run))
    assert any("differs from colourise's output" in p for p in report.problems), report.problems


def test_a_page_without_the_generated_model_says_so_and_fails_the_check(site, tmp_path):
    from study.report.browser import check_colouriser

    html, run = site
    bare = tmp_path / "html"
    shutil.copytree(html, bare)
    for generated in (bare / "colouriser").glob("*.js"):
        if generated.name != "colourise.js":
            generated.unlink()
    report = check_colouriser(bare, CHROMIUM, reference=_reference(run))
    assert any("the model did not load (missing)" in p for p in report.problems), report.problems


def test_raw_latex_a_request_to_another_host_and_a_heavy_head_each_fail_the_page(tmp_path):
    from study.report.browser import MAX_BYTES_BEFORE_PAINT, check_pages

    (tmp_path / "heavy.js").write_text("// " + "x" * (MAX_BYTES_BEFORE_PAINT + 10))
    body = "<p>" + "A page of the book with enough words to be read. " * 8 + "</p>"
    pages = {
        "latex.html": body + r"<p>a step takes \(S \ge L_1\) seconds</p>",
        "offline.html": body + "<img src='https://example.invalid/figure.png' alt='x'>",
        "heavy.html": body,
        "fine.html": body + "<pre><code>\\(code keeps its backslashes\\)</code></pre>",
    }
    for name, html in pages.items():
        head = "<script src='heavy.js'></script>" if name == "heavy.html" else ""
        (tmp_path / name).write_text(
            f"<html><head>{head}</head><body><main>{html}</main></body></html>"
        )
    reports = {r.page: r.problems for r in check_pages(tmp_path, None, CHROMIUM, pages=list(pages))}
    assert any("raw LaTeX formula(s)" in p for p in reports["latex.html"]), reports
    assert any("request(s) to another host" in p for p in reports["offline.html"])
    assert any("before it can paint" in p and "heavy.js" in p for p in reports["heavy.html"])
    assert reports["fine.html"] == []
