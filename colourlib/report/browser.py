"""Read the built book in a real browser: headless Chromium opens each page at a laptop's width (1280 px), and the
check fails on a broken image, an empty table, a glued value that did not arrive, a table or figure wider than
the content column (cut off or scrolled), "Warning" or "Traceback" text, a raw ``NaN``, or a figure without a
caption. It saves a full-page screenshot of every page, to look at before calling the book done.

``colourlib check browser [--html _build/html] [--screenshots DIR] [--chromium PATH]``

Chromium is driven over its DevTools protocol (a websocket), so nothing is downloaded and any Chromium works:
Debian's ``chromium`` package in CI (started ``--headless --no-sandbox --disable-gpu``, pointed at the files).
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .. import paths
from .book import ROLE

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
    "conclusions.html",
    "runs/reproducibility.html",
    "guide.html",
    "bibliography.html",
)
#: Figures a page must show, by their names in the book (``:name:``): each must hold an image that loaded, at
#: least this wide, with a caption. A missing or empty front-page strip fails the check.
REQUIRED_FIGURES = {
    "intro.html": ("fig-landing-strip", "fig-speedup-front"),
    "runs/evaluate.html": (
        "fig-metric-bars",
        "fig-paired-intervals",
        "fig-recipe-pareto",
        "fig-gallery-test",
    ),
    "runs/parallel.html": ("fig-speedup",),
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
    """One headless Chromium, one tab, spoken to over the DevTools protocol."""

    def __init__(self, executable: str):
        import websocket

        self.profile = tempfile.mkdtemp(prefix="colourlib-chromium-")
        self.process = subprocess.Popen(
            [
                executable,
                *CHROMIUM_FLAGS,
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.time() + 30
        while not port_file.is_file() or not port_file.read_text().strip():
            if time.time() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError(f"{executable} did not start its DevTools endpoint within 30 s")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        targets = json.load(
            urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10)
        )
        page = next(t for t in targets if t["type"] == "page")
        self.socket = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True
        )
        self.next_id = 0
        self.call("Page.enable")

    def call(self, method: str, wait_event: str | None = None, **params) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        result, event_seen = None, wait_event is None
        while result is None or not event_seen:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result = message.get("result", {})
            elif message.get("method") == wait_event:
                event_seen = True
        return result

    def open(self, url: str) -> None:
        self.call("Page.navigate", wait_event="Page.loadEventFired", url=url)

    def evaluate(self, script: str):
        answer = self.call(
            "Runtime.evaluate", expression=script, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in answer:
            raise RuntimeError(f"page script failed: {answer['exceptionDetails']}")
        return answer["result"]["value"]

    def set_width(self, width: int) -> None:
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )

    def screenshot(self, path: Path, width: int = 1280) -> None:
        self.set_width(width)
        height = int(self.call("Page.getLayoutMetrics")["cssContentSize"]["height"])
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=min(max(height, 900), 16000),
            deviceScaleFactor=1,
            mobile=False,
        )
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        if getattr(self, "socket", None):
            self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


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
    return problems


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


def check_browser(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="colourlib check browser",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--html", type=Path, default=paths.BOOK_HTML.parent, help="the built book's html folder"
    )
    parser.add_argument(
        "--screenshots", type=Path, default=paths.BOOK_HTML.parent.parent / "screenshots"
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
    for problem in problems:
        print("  " + problem)
    print(f"browser check: {len(reports)} page(s), {len(problems)} problem(s)")
    return 1 if problems else 0
