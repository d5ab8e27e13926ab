"""The in-browser page's script (book/_extra/colouriser/colourise.js), the parts that need no browser, run in Node: the size
a photo declares in its header, read before anything is decoded (a decompression bomb is refused by name)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from study.report.browser import bomb_png

SCRIPT = Path(__file__).parents[1] / "book" / "_extra" / "colouriser" / "colourise.js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed (CI installs it)")


def declared_sizes(files: dict[str, bytes]) -> dict[str, dict | None]:
    """``declaredSize`` of each file's bytes, as the page computes it."""
    program = (
        f"const {{ declaredSize }} = require({json.dumps(str(SCRIPT))});"
        "const files = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const out = {};"
        "for (const [name, hex] of Object.entries(files)) out[name] = declaredSize(Buffer.from(hex, 'hex'));"
        "console.log(JSON.stringify(out));"
    )
    done = subprocess.run(
        [NODE, "-e", program],
        input=json.dumps({k: v.hex() for k, v in files.items()}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def test_every_format_the_page_takes_declares_its_size_before_decoding():
    rng = np.random.default_rng(0)
    rgb = Image.fromarray((rng.random((45, 123, 3)) * 255).astype(np.uint8))
    exif = Image.Exif()
    exif[0x010E] = "x" * 5000  # a long description before the frame header
    files = {
        "png": encoded(rgb, "PNG"),
        "jpeg": encoded(rgb, "JPEG", quality=90),
        "jpeg-exif-progressive": encoded(rgb, "JPEG", exif=exif.tobytes(), progressive=True),
        "gif": encoded(rgb.convert("P"), "GIF"),
        "webp-lossy": encoded(rgb, "WEBP", quality=80),
        "webp-lossless": encoded(rgb, "WEBP", lossless=True),
        "webp-alpha": encoded(rgb.convert("RGBA"), "WEBP", quality=80),
        "bomb": bomb_png(30000),
        "text": b"not a photo at all, just words",
    }
    sizes = declared_sizes(files)
    for name in files:
        if name not in ("bomb", "text"):
            assert sizes[name] == {"width": 123, "height": 45}, name
    assert sizes["bomb"] == {"width": 30000, "height": 30000}
    assert sizes["text"] is None
