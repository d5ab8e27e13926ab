"""Read the built book in a real browser: headless Chromium opens each page at a laptop's width (1280 px), and the
check fails on a broken image, an empty table, a glued value that did not arrive, a table or figure wider than
the content column (cut off or scrolled), "Warning" or "Traceback" text, a raw ``NaN``, or a figure without a
caption. It saves a full-page screenshot of every page, to look at before calling the book done.

``python -m study check browser [--html _build/html] [--screenshots DIR] [--chromium PATH]``

Chromium is driven by Selenium through the system's chromedriver, so nothing is downloaded: Debian's ``chromium``
and ``chromium-driver`` packages in CI (headless, pointed at the files). The in-browser colouriser's page is also
used as a reader would: a photo is coloured through its own file input, and the canvas is compared with
``colourise``'s output for the same photo (:func:`check_colouriser`).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from study import paths as study_paths
from study.report.book import ROLE

#: The pages the reader must find whole: the front page and every chapter built from a notebook or with glue.
PAGES = (
    "index.html",
    "intro.html",
    "state-of-the-art.html",
    "runs/data.html",
    "runs/model.html",
    "runs/parallel.html",
    "runs/train/colouring-vgg16-seed0.html",
    "runs/train/colouring-lite0-seed0.html",
    "runs/evaluate.html",
    "runs/model-search.html",
    "colourise.html",
    "conclusions.html",
    "runs/reproducibility.html",
    "guide.html",
    "bibliography.html",
)
#: Figures a page must show, by their names in the book (``:name:``): each must hold an image that loaded, at
#: least this wide, with a caption. A missing or empty front-page strip fails the check.
REQUIRED_FIGURES = {
    "intro.html": ("fig-landing-strip", "fig-scoreboard", "fig-speedup-front"),
    "runs/evaluate.html": (
        "fig-metric-bars",
        "fig-paired-intervals",
        "fig-recipe-pareto",
        "fig-gallery-test",
    ),
    "runs/parallel.html": ("fig-speedup",),
    "runs/model.html": ("fig-model-diagram",),
}
MIN_FIGURE_WIDTH = 300
#: The window width the pages are read at: a laptop's, where the theme shows the sidebar beside the content.
READER_WIDTH = 1280
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--allow-file-access-from-files",
]

#: Runs in the page once it has loaded: waits for every image, then reports what a reader would miss.
PAGE_PROBE = """
(async () => {
  const images = [...document.images];
  await Promise.all(images.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done); setTimeout(done, 10000); })));
  // formulas typeset (MathJax loads deferred, then typesets asynchronously)
  for (let i = 0; i < 100 && document.querySelector('.math') && !(window.MathJax && MathJax.startup
       && MathJax.startup.promise); i++) await new Promise(done => setTimeout(done, 100));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await Promise.race([MathJax.startup.promise, new Promise(done => setTimeout(done, 20000))]);
  }
  const main = document.querySelector('main') || document.body;
  const tables = [...main.querySelectorAll('table')];
  const emptyTables = tables.filter(t => ![...t.querySelectorAll('td')].some(td => td.textContent.trim()));
  // pandas' plain HTML cuts a long cell at 50 characters and a long table to its first and last rows, with "..."
  const cut = [...main.querySelectorAll('td, th')].map(td => td.textContent.trim())
    .filter(t => t === '...' || t.endsWith('...')).map(t => t.slice(-40));
  const pasted = [...main.querySelectorAll('.pasted-text, .pasted-inline')];
  const column = main.getBoundingClientRect();
  const wide = [...tables, ...main.querySelectorAll('img')].filter(el => {
    const box = el.getBoundingClientRect();
    const holder = el.closest('.cell_output, .output, .table-wrapper, .pasted-block') || el.parentElement;
    return box.width > 0 && (box.right > column.right + 2 || el.scrollWidth > holder.clientWidth + 2);
  }).map(el => el.tagName.toLowerCase() + (el.getAttribute('src') ? ' ' + el.getAttribute('src') : '')
         + ' (' + Math.round(el.getBoundingClientRect().width) + ' px)');
  const copy = main.cloneNode(true);
  copy.querySelectorAll('.admonition-title, script, style').forEach(el => el.remove());
  const walker = document.createTreeWalker(copy, NodeFilter.SHOW_TEXT);  // text node by text node: blocks apart
  const parts = [];
  while (walker.nextNode()) parts.push(walker.currentNode.nodeValue);
  const text = parts.join('\\n');
  // LaTeX the reader would see raw: outside code, and outside what MathJax typeset
  const prose = main.cloneNode(true);
  prose.querySelectorAll('pre, code, script, style, mjx-container, .highlight').forEach(el => el.remove());
  const rawLatex = (prose.textContent.match(/[^\\n]{0,25}(\\\\\\(|\\\\\\[|\\$\\$|\\\\(frac|left|right|text|mathrm|approx|ge|le)\\b)[^\\n]{0,25}/g) || []);
  // anything fetched, or asked to be, from another host: the book must work offline
  const here = location.protocol === 'file:' ? null : location.host;
  const asked = [...document.querySelectorAll('script[src], link[href]:not([rel~="canonical"]), img[src], iframe[src], source[src]')]
    .map(el => el.getAttribute('src') || el.getAttribute('href'));
  const fetched = performance.getEntriesByType('resource').map(entry => entry.name);
  const external = [...new Set([...asked, ...fetched])].filter(url => {
    try { const u = new URL(url, location.href); return /^https?:$/.test(u.protocol) && u.host !== here; }
    catch (e) { return false; }
  });
  const uncaptioned = [...main.querySelectorAll('img')].filter(img => {
    const figure = img.closest('figure');
    return !figure || !figure.querySelector('figcaption') || !figure.querySelector('figcaption').textContent.trim();
  }).map(img => img.getAttribute('src'));
  return {
    title: document.title, url: location.href,
    images: images.length,
    brokenImages: images.filter(img => !img.naturalWidth).map(img => img.getAttribute('src')),
    tables: tables.length, emptyTables: emptyTables.length, cut: cut.slice(0, 3), nCut: cut.length,
    pasted: pasted.length, emptyPasted: pasted.filter(p => !p.textContent.trim()).length,
    rawGlue: (main.innerText.match(/\\{glue[^}]*\\}/g) || []).slice(0, 5),
    wide: wide.slice(0, 5), nWide: wide.length,
    warnings: (text.match(/[^\\n]{0,40}(Warning\\b|WARNING|Traceback)[^\\n]{0,40}/g) || []).slice(0, 3),
    nans: (text.match(/[^\\n]{0,30}\\bnan\\b[^\\n]{0,30}/gi) || []).slice(0, 3),
    uncaptioned: uncaptioned.slice(0, 5), nUncaptioned: uncaptioned.length,
    figures: Object.fromEntries([...main.querySelectorAll('figure[id]')].map(f => [f.id,
      Math.max(0, ...[...f.querySelectorAll('img')].map(img => img.naturalWidth ? img.getBoundingClientRect().width : 0))])),
    text: main.innerText.trim().length,
    rawLatex: rawLatex.slice(0, 3), nRawLatex: rawLatex.length,
    external: external.slice(0, 5), nExternal: external.length,
  };
})()
"""


@dataclass
class PageReport:
    page: str
    found: dict
    expected_glue: int
    screenshot: Path | None
    problems: list[str] = field(default_factory=list)


class Chromium:
    """One headless Chromium, one tab, driven by Selenium through the system's chromedriver (Debian:
    ``chromium-driver``): nothing is downloaded, and the browser's console is read for errors."""

    def __init__(self, executable: str, driver: str | None = None):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        driver = driver or chromedriver()
        options = webdriver.ChromeOptions()
        options.binary_location = executable
        for flag in ("--headless=new", *CHROMIUM_FLAGS[1:], "--disable-dev-shm-usage"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(driver), options=options)
        self.driver.set_script_timeout(60)

    def open(self, url: str) -> None:
        self.driver.get(url)  # returns once the page's load event has fired

    def evaluate(self, script: str):
        """The value of a JavaScript expression (a promise is awaited)."""
        return self.driver.execute_script(f"return {script.strip()};")

    def set_width(self, width: int) -> None:
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )

    def screenshot(self, path: Path, width: int = 1280) -> None:
        self.set_width(width)
        height = int(
            self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["height"]
        )
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": width,
                "height": min(max(height, 900), 16000),
                "deviceScaleFactor": 1,
                "mobile": False,
            },
        )
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        path.write_bytes(base64.b64decode(shot["data"]))

    def console_errors(self) -> list[str]:
        """The console's errors since the last call (a failed script, a missing file, an uncaught exception)."""
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def close(self) -> None:
        self.driver.quit()


def chromedriver() -> str:
    """The system's chromedriver, which must match its Chromium (Debian: apt-get install chromium-driver)."""
    found = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not Path(found).is_file():
        raise RuntimeError(
            "chromedriver not found. Fix: apt-get install chromium-driver (Debian's, matching its chromium)."
        )
    return found


def expected_glue(html_dir: Path, page: str) -> int:
    """How many glue roles the page's source holds (each must arrive as a pasted value)."""

    source_dir = (
        html_dir.parent.parent / "book" if (html_dir.parent.parent / "book").is_dir() else None
    )
    if source_dir is None:
        return 0
    stem = source_dir / Path(page).with_suffix("")
    for suffix in (".md", ".ipynb"):
        path = stem.with_suffix(suffix)
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            if suffix == ".ipynb":
                text = "\n".join(
                    c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                    for c in json.loads(text)["cells"]
                    if c["cell_type"] == "markdown"
                )
            return sum(1 for m in ROLE.finditer(text) if m["kind"] in ("text", None, "any"))
    return 0


def judge(page: str, found: dict, expected: int) -> list[str]:
    problems = []
    if found["brokenImages"]:
        problems.append(f"{page}: broken image(s): {', '.join(found['brokenImages'][:5])}")
    if found["emptyTables"]:
        problems.append(f"{page}: {found['emptyTables']} empty table(s) of {found['tables']}")
    if found["emptyPasted"] or found["pasted"] < expected:
        problems.append(
            f"{page}: glued values missing: {found['pasted'] - found['emptyPasted']} of {expected} "
            "arrived"
        )
    if found["rawGlue"]:
        problems.append(f"{page}: unrendered glue markup: {found['rawGlue']}")
    if found.get("nCut"):
        problems.append(
            f"{page}: {found['nCut']} table cell(s) cut short with '...' (show the table whole): "
            f"{found['cut']}"
        )
    if found.get("nWide"):
        problems.append(
            f"{page}: {found['nWide']} table(s)/figure(s) wider than the content column: "
            f"{', '.join(found['wide'])}"
        )
    if found.get("warnings"):
        problems.append(f"{page}: warning or traceback text on the page: {found['warnings']}")
    if found.get("nans"):
        problems.append(f"{page}: raw NaN on the page: {found['nans']}")
    if found.get("nUncaptioned"):
        problems.append(
            f"{page}: {found['nUncaptioned']} figure(s) without a caption: "
            f"{', '.join(map(str, found['uncaptioned']))}"
        )
    for name in REQUIRED_FIGURES.get(page, ()):
        width = found.get("figures", {}).get(name)
        if width is None:
            problems.append(f"{page}: figure {name} is missing")
        elif width < MIN_FIGURE_WIDTH:
            problems.append(
                f"{page}: figure {name} shows no image ({width:.0f} px wide, at least "
                f"{MIN_FIGURE_WIDTH} expected)"
            )
    if found["text"] < 200:
        problems.append(f"{page}: almost no text ({found['text']} characters)")
    if found.get("nRawLatex"):
        problems.append(
            f"{page}: {found['nRawLatex']} raw LaTeX formula(s) on the page: {found['rawLatex']}"
        )
    if found.get("nExternal"):
        problems.append(
            f"{page}: {found['nExternal']} request(s) to another host (the book must work offline): "
            f"{', '.join(found['external'])}"
        )
    before_paint = found.get("bytesBeforePaint")
    if before_paint is not None and before_paint > MAX_BYTES_BEFORE_PAINT:
        problems.append(
            f"{page}: loads {before_paint / 1e6:.1f} MB before it can paint (at most "
            f"{MAX_BYTES_BEFORE_PAINT / 1e6:.0f} MB): {', '.join(found['blocking'][:5])}"
        )
    return problems


#: What a page may load before the browser can paint it: the page and its render-blocking files (stylesheets,
#: and scripts in its head that are neither async nor deferred).
MAX_BYTES_BEFORE_PAINT = 1_000_000


def render_blocking(html: Path) -> tuple[int, list[str]]:
    """Bytes a built page makes the browser load before its first paint (the page, its stylesheets and its
    synchronous head scripts, each counted once), and those files, largest first; read from the files."""
    from html.parser import HTMLParser
    from urllib.parse import unquote, urlparse

    blocking: list[str] = []

    class Head(HTMLParser):
        in_head = True

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "body":
                self.in_head = False
            elif tag == "link" and "stylesheet" in (a.get("rel") or "").split() and a.get("href"):
                if a.get("media") not in ("print",):
                    blocking.append(a["href"])
            elif tag == "script" and self.in_head and a.get("src"):
                if "async" not in a and "defer" not in a and a.get("type") != "module":
                    blocking.append(a["src"])

    Head().feed(html.read_text(encoding="utf-8", errors="replace"))
    sizes = {}
    for url in blocking:
        parsed = urlparse(url)
        if parsed.scheme in ("http", "https"):
            continue  # counted as an external request instead
        path = (html.parent / unquote(parsed.path)).resolve()
        if path.is_file():
            sizes[url] = path.stat().st_size
    total = html.stat().st_size + sum(sizes.values())
    return total, [
        f"{url} ({size / 1e6:.2f} MB)" for url, size in sorted(sizes.items(), key=lambda x: -x[1])
    ]


def check_pages(
    html_dir: Path, screenshots: Path | None, chromium: str, pages=PAGES
) -> list[PageReport]:
    html_dir = Path(html_dir).resolve()
    if screenshots:
        screenshots.mkdir(parents=True, exist_ok=True)
    browser = Chromium(chromium)
    reports = []
    try:
        for page in pages:
            path = html_dir / page
            if not path.is_file():
                reports.append(
                    PageReport(page, {}, 0, None, [f"{page}: not built ({path} is missing)"])
                )
                continue
            browser.set_width(READER_WIDTH)
            browser.open(path.as_uri())
            if page == "index.html":  # jupyter-book's index is a redirect to the root page
                time.sleep(1.0)
            found = browser.evaluate(PAGE_PROBE)
            found["bytesBeforePaint"], found["blocking"] = render_blocking(path)
            shot = None
            if screenshots:
                shot = screenshots / (page.replace("/", "_").removesuffix(".html") + ".png")
                browser.screenshot(shot)
            expected = expected_glue(
                html_dir, found["url"].split("/html/", 1)[-1] if "/html/" in found["url"] else page
            )
            reports.append(PageReport(page, found, expected, shot, judge(page, found, expected)))
    finally:
        browser.close()
    return reports


#: The in-browser colouriser's page, and how far its canvas may be from ``colourise``'s output for the same photo
#: (mean CIEDE2000 over the pixels; the two run the same exported model with the same steps, so they differ only
#: by rounding).
COLOURISER_PAGE = "colourise.html"
COLOURISER_TOLERANCE = 1.0
#: Console errors every page of the book logs, whatever it holds (jupyter-book 1.x declares the Thebe settings
#: twice on every page; the pydata theme complains of an empty theme mode when read from files; a browser asks a
#: server for /favicon.ico): not the colouriser's, so they do not fail its check. Anything else does.
THEME_CONSOLE_NOISE = (
    "Identifier 'THEBE_JS_URL' has already been declared",
    "Got invalid theme mode",
    "/favicon.ico - Failed to load resource",  # a browser asks any server for one; the book has none
)
#: Seconds the page may take to load its model, and to colour one photo, before the check gives up on it.
COLOURISER_TIMEOUT = 120


@dataclass
class ColouriserReport:
    """What colouring a photo through the page gave: seconds to load, seconds to colour, the match with
    ``colourise`` and what went wrong."""

    photo: str
    load_seconds: float = float("nan")
    colour_seconds: float = float("nan")
    mean_ciede2000: float = float("nan")
    problems: list[str] = field(default_factory=list)


def _wait_for_state(browser: Chromium, states: tuple[str, ...], timeout: float) -> str:
    deadline = time.time() + timeout
    state = None
    while time.time() < deadline:
        state = browser.evaluate("document.querySelector('.ct-colourise').dataset.state")
        if state in states:
            return state
        time.sleep(0.1)
    return state or "none"


def colourise_reference(photo: Path, out_dir: Path) -> Path:
    """``colourise``'s own output for ``photo`` (its default model), as the command writes it (run as the
    command, in its own process)."""
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "colourlib",
            "colourise",
            str(photo),
            "-o",
            str(out_dir),
            "--overwrite",
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"colourise could not colour {photo}: {done.stderr.strip()[-500:]}")
    return out_dir / photo.name


@contextlib.contextmanager
def static_server(folder: Path):
    """``folder`` served over HTTP on a free local port, as any static web server would serve the book; yields
    the base URL."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # no line per request in the check's output
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def bomb_png(side: int) -> bytes:
    """A PNG header declaring ``side`` x ``side`` grey pixels with only its first rows' data: a few hundred
    bytes that a decoder would try to expand to side**2 bytes (a decompression bomb, as a page sees one)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * (side + 1) * 4, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def check_colouriser(
    html_dir: Path,
    chromium: str,
    photo: Path | None = None,
    reference: Callable[[Path, Path], Path] = colourise_reference,
    served: bool = False,
) -> ColouriserReport:
    """Colour a photo (default: a 1024-px PNG of a packaged test photo) through the page's own file input, as a
    reader would, and compare the canvas with ``colourise``'s output for the same photo; a photo above the
    page's size limit must be refused with a message. Problems: a console error, a model that does not load,
    a colouring that fails or times out, a canvas further than :data:`COLOURISER_TOLERANCE` from
    ``colourise``'s, a large photo not refused."""
    import io

    import numpy as np
    from PIL import Image
    from skimage.color import deltaE_ciede2000, rgb2lab

    from colourlib.data.photos import wheel_test_photos

    page = Path(html_dir).resolve() / COLOURISER_PAGE
    work = Path(tempfile.mkdtemp(prefix="colourlib-colouriser-"))
    if photo is None:
        with Image.open(sorted(wheel_test_photos())[0]) as im:
            scale = 1024 / max(im.size)
            im.convert("RGB").resize(
                (round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS
            ).save(work / "photo-1024.png")
        photo = work / "photo-1024.png"
    report = ColouriserReport(Path(photo).name)
    if not page.is_file():
        report.problems.append(f"{COLOURISER_PAGE}: not built ({page} is missing)")
        return report
    browser = Chromium(chromium)
    server = static_server(page.parent) if served else contextlib.nullcontext(None)
    try:
        base = server.__enter__()
        report.photo += " (over HTTP)" if served else " (from files)"
        started = time.time()
        browser.open(base + COLOURISER_PAGE if served else page.as_uri())
        state = _wait_for_state(browser, ("ready", "failed", "missing"), COLOURISER_TIMEOUT)
        report.load_seconds = time.time() - started
        status = browser.evaluate("document.querySelector('.ct-colourise .ct-status').textContent")
        if state != "ready":
            report.problems.append(f"{COLOURISER_PAGE}: the model did not load ({state}): {status}")
            return report
        file_input = browser.driver.find_element("css selector", ".ct-colourise input[type=file]")
        file_input.send_keys(str(Path(photo).resolve()))
        state = _wait_for_state(browser, ("done", "failed", "refused"), COLOURISER_TIMEOUT)
        status = browser.evaluate("document.querySelector('.ct-colourise .ct-status').textContent")
        if state != "done":
            report.problems.append(
                f"{COLOURISER_PAGE}: {Path(photo).name} was not coloured ({state}): {status}"
            )
            return report
        report.colour_seconds = float(
            browser.evaluate("document.querySelector('.ct-colourise').dataset.seconds")
        )
        url = browser.evaluate(
            "document.querySelector('.ct-colourise canvas.ct-out').toDataURL('image/png')"
        )
        with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as im:
            canvas = np.asarray(im.convert("RGB"))
        with Image.open(reference(Path(photo), work / "colourise")) as im:
            reference = np.asarray(im.convert("RGB"))
        if canvas.shape != reference.shape:
            report.problems.append(
                f"{COLOURISER_PAGE}: the canvas is {canvas.shape[1]} x {canvas.shape[0]} px, colourise's "
                f"output {reference.shape[1]} x {reference.shape[0]}"
            )
        else:
            report.mean_ciede2000 = float(
                deltaE_ciede2000(rgb2lab(canvas), rgb2lab(reference)).mean()
            )
            if not report.mean_ciede2000 <= COLOURISER_TOLERANCE:
                report.problems.append(
                    f"{COLOURISER_PAGE}: the canvas differs from colourise's output by CIEDE2000 "
                    f"{report.mean_ciede2000:.2f} on average (at most {COLOURISER_TOLERANCE} allowed)"
                )
        huge = work / "too-large.png"
        Image.new("RGB", (5000, 60), (90, 90, 90)).save(huge)
        file_input.send_keys(str(huge))
        state = _wait_for_state(browser, ("refused", "done", "failed"), COLOURISER_TIMEOUT)
        if state != "refused":
            report.problems.append(
                f"{COLOURISER_PAGE}: a 5000 x 60 px photo was not refused with a message ({state})"
            )
        bomb = work / "bomb.png"
        bomb.write_bytes(bomb_png(30000))
        browser.evaluate(
            "document.querySelector('.ct-colourise').dataset.state = 'working'"
        )  # not the last one's
        file_input.send_keys(str(bomb))
        state = _wait_for_state(browser, ("refused", "done", "failed"), COLOURISER_TIMEOUT)
        status = browser.evaluate("document.querySelector('.ct-colourise .ct-status').textContent")
        if state != "refused" or "declares 30000 x 30000 px" not in status:
            report.problems.append(
                f"{COLOURISER_PAGE}: a PNG declaring 30000 x 30000 px (a decompression bomb) was not refused "
                f"by its declared size ({state}): {status}"
            )
        report.problems += [
            f"{COLOURISER_PAGE}: console error: {e}"
            for e in browser.console_errors()
            if not any(noise in e for noise in THEME_CONSOLE_NOISE)
        ]
    finally:
        server.__exit__(None, None, None)
        browser.close()
        shutil.rmtree(work, ignore_errors=True)
    return report


def check_browser(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m study check browser",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--html",
        type=Path,
        default=study_paths.BOOK_HTML.parent,
        help="the built book's html folder",
    )
    parser.add_argument(
        "--screenshots", type=Path, default=study_paths.BOOK_HTML.parent.parent / "screenshots"
    )
    parser.add_argument(
        "--chromium",
        default=shutil.which("chromium") or shutil.which("chromium-browser") or "chromium",
        help="the Chromium executable (Debian: apt-get install chromium)",
    )
    args = parser.parse_args(argv)
    if not shutil.which(args.chromium) and not Path(args.chromium).is_file():
        print(
            f"error: --chromium {args.chromium}: not found. Fix: apt-get install chromium, or pass its path."
        )
        return 2
    reports = check_pages(args.html, args.screenshots, args.chromium)
    problems = [p for r in reports for p in r.problems]
    for r in reports:
        f = r.found
        status = "ok" if not r.problems else "PROBLEM"
        print(
            f"{status:7} {r.page}: {f.get('images', 0)} images, {f.get('tables', 0)} tables, "
            f"{f.get('pasted', 0)}/{r.expected_glue} glued values; screenshot {r.screenshot}"
        )
    for served in (False, True):  # the page opened as a file, and from a static web server
        colouriser = check_colouriser(args.html, args.chromium, served=served)
        print(
            f"{'ok' if not colouriser.problems else 'PROBLEM':7} {COLOURISER_PAGE}: {colouriser.photo} "
            f"coloured in the browser in {colouriser.colour_seconds:.2f} s (model loaded in "
            f"{colouriser.load_seconds:.1f} s), mean CIEDE2000 {colouriser.mean_ciede2000:.3f} from "
            f"colourise's output (at most {COLOURISER_TOLERANCE})"
        )
        problems += colouriser.problems
    for problem in problems:
        print("  " + problem)
    print(
        f"browser check: {len(reports)} page(s) and the colouriser twice, {len(problems)} problem(s)"
    )
    return 1 if problems else 0
