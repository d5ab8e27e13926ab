"""The book's in-browser colouriser: the scripts its page loads, generated from the exported default model.

The page (``book/colourise.md``, and the box on the landing page) runs ``book/_extra/colouriser/colourise.js``;
what that needs beyond itself is generated here into ``book/_generated/`` (ignored by git, rebuilt by the study;
both folders are copied into the built book as they are, neither is linked from every page):

- ``ct-config.js``: what the page says and computes with: the model's name, commit and date, its input size,
  the colour constants of :mod:`colourlib.colour` (one source of numbers for Python and JavaScript);
- ``ort.wasm.min.js``: onnxruntime-web's API, copied from the pinned npm package (``package.json``);
- ``ct-runtime.js``: onnxruntime-web's WebAssembly binary (gzip, base64) and its loader's source;
- ``ct-model.js``: the exported model (gzip, base64);
- ``mathjax/``: MathJax, which typesets the book's formulas, from the pinned npm package: the book's pages load
  it from their own files (``mathjax_path`` in ``_config.yml``), never from a CDN, so they work offline.

Everything is a classic script, which a browser loads from a page opened as a file as well as from a server
(``fetch`` and module imports of ``file://`` URLs are refused by Chromium), and the binaries are decompressed
in the browser by its own ``DecompressionStream``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import shutil
from pathlib import Path

from colourlib import ColourlibError, paths
from colourlib.colour import _EPSILON, _KAPPA, AB_SCALE, RGB_FROM_XYZ, WHITE_D65, XYZ_FROM_RGB
from colourlib.exported import ONNX_FILE, SIDECAR_FILE
from study import paths as study_paths

RUNTIME_PACKAGE = "onnxruntime-web"
#: The runtime's files the page needs: its API, its WebAssembly loader and binary (the single-threaded SIMD
#: build's; a file:// page cannot have the cross-origin isolation threads need).
RUNTIME_API, RUNTIME_GLUE, RUNTIME_WASM = (
    "ort.wasm.min.js",
    "ort-wasm-simd-threaded.mjs",
    "ort-wasm-simd-threaded.wasm",
)
#: The generated scripts, in the order the page loads them after ct-config.js.
SCRIPTS = (RUNTIME_API, "ct-runtime.js", "ct-model.js")


def runtime_dir() -> Path:
    """onnxruntime-web's ``dist`` folder, installed from npm by ``make install`` (``npm ci``)."""
    folder = (paths.REPO_ROOT or Path.cwd()) / "node_modules" / RUNTIME_PACKAGE / "dist"
    missing = [n for n in (RUNTIME_API, RUNTIME_GLUE, RUNTIME_WASM) if not (folder / n).is_file()]
    if missing:
        raise ColourlibError(
            f"{folder}: {RUNTIME_PACKAGE} is not installed ({', '.join(missing)} missing), so the book's "
            "in-browser colouriser cannot be built. Fix: make install (it runs npm ci with package-lock.json)."
        )
    return folder


def _packed(data: bytes) -> str:
    return base64.b64encode(gzip.compress(data, 9, mtime=0)).decode("ascii")


def write_assets(export_dir: str | Path, out_dir: str | Path | None = None) -> dict:
    """Write the page's generated scripts for the model exported in ``export_dir`` into ``out_dir`` (default:
    ``book/_generated/colouriser``); returns their sizes in bytes and the config the page reads."""
    export_dir = Path(export_dir)
    out = Path(out_dir) if out_dir else study_paths.BOOK_WEB_DIR
    record = json.loads((export_dir / SIDECAR_FILE).read_text())
    model = (export_dir / ONNX_FILE).read_bytes()
    if hashlib.sha256(model).hexdigest() != record.get("sha256"):
        # the page must not ship a model that colourise itself would refuse
        raise ColourlibError(
            f"{export_dir / ONNX_FILE}: its sha256 is not the one {SIDECAR_FILE} records (changed after the "
            "export). Fix: export again (python -m colourlib export RUN_DIR), or run `make study`."
        )
    runtime = runtime_dir()
    out.mkdir(parents=True, exist_ok=True)
    files = {
        RUNTIME_API: (runtime / RUNTIME_API).read_text(),
        "ct-runtime.js": (
            f"window.CT_ORT_GLUE = {json.dumps((runtime / RUNTIME_GLUE).read_text())};\n"
            f'window.CT_ORT_WASM = "{_packed((runtime / RUNTIME_WASM).read_bytes())}";\n'
        ),
        "ct-model.js": f'window.CT_MODEL = "{_packed(model)}";\n',
    }
    git = record.get("environment", {}).get("git") or {}
    config = {
        "model": record["model"],
        "commit": (git.get("commit") or "unknown")[:7],
        "date": (record.get("environment", {}).get("date") or "")[:10],
        "image_size": record["image_size"],
        "ab_scale": AB_SCALE,
        "sha256": record["sha256"],
        "scripts": list(SCRIPTS),
        "download_bytes": sum(len(text) for text in files.values()),
        "colour": {
            "xyz_from_rgb": XYZ_FROM_RGB.tolist(),
            "rgb_from_xyz": RGB_FROM_XYZ.tolist(),
            "white": WHITE_D65.tolist(),
            "epsilon": _EPSILON,
            "kappa": _KAPPA,
        },
    }
    files["ct-config.js"] = f"window.CT_CONFIG = {json.dumps(config, indent=1)};\n"
    sizes = {}
    for name, text in files.items():
        (out / name).write_text(text)
        sizes[name] = len(text.encode())
    return {"sizes": sizes, "config": config}


#: MathJax 3 (the version Sphinx's math configuration is written for), from npm, and what of its ``es5`` build the
#: book needs: the TeX-to-HTML bundle Sphinx names by default, the TeX extensions and HTML fonts it loads on demand,
#: and its menu; not the speech-rule engine or the SVG output (four fifths of the package).
MATHJAX_PACKAGE = "mathjax"
MATHJAX_FILES = ("tex-mml-chtml.js", "input", "output/chtml", "ui", "a11y")
MATHJAX_DIR = "mathjax"


def write_mathjax(out_dir: str | Path | None = None) -> Path:
    """Copy MathJax into ``out_dir/mathjax`` (default: ``book/_generated``); returns that folder."""
    source = (paths.REPO_ROOT or Path.cwd()) / "node_modules" / MATHJAX_PACKAGE / "es5"
    if not (source / MATHJAX_FILES[0]).is_file():
        raise ColourlibError(
            f"{source}: {MATHJAX_PACKAGE} is not installed, so the book's formulas cannot be typeset offline. "
            "Fix: make install (it runs npm ci with package-lock.json)."
        )
    target = (Path(out_dir) if out_dir else study_paths.BOOK_GENERATED) / MATHJAX_DIR
    shutil.rmtree(target, ignore_errors=True)
    for name in MATHJAX_FILES:
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name)
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, target / name)
    return target
