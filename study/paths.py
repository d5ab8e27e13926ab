"""Where the study's own files are: its configuration file, notebooks, book, recorded results and the smoke test's scratch
copy. (Where training runs and caches go is the library's, :mod:`colourlib.paths`.)"""

from __future__ import annotations

from pathlib import Path

from colourlib.paths import REPO_ROOT, STUDY_ROOT

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT = REPO_ROOT or Path.cwd()

#: The study's one configuration file: presets, colouring models, seeds, the parallel matrix.
STUDY_CONFIG = PACKAGE_DIR / "study.yaml"

#: The smoke test's scratch copy, inside the checkout (ignored by git).
SMOKE_ROOT = CHECKOUT / "smoke-test"

#: The study's notebooks and book live in the checkout (they are not part of the installed package).
NOTEBOOKS_DIR = CHECKOUT / "notebooks"
BOOK_DIR = STUDY_ROOT / "book"
#: Where the study writes the notebooks papermill executed; the book shows exactly these.
BOOK_RUNS_DIR = BOOK_DIR / "runs"
#: Figures the notebooks write for the book's markdown pages (the front page's strip and speedup plot), which
#: cite them as files: a glued figure cannot be pasted with its caption into another page.
BOOK_FIGURES_DIR = BOOK_RUNS_DIR / "figures"
#: What the build generates for the book's pages (study/report/web.py), copied into the built book as it is
#: (``html_extra_path``: never under ``_static``, whose every script jupyter-book links from every page).
BOOK_GENERATED = BOOK_DIR / "_generated"
#: The in-browser colouriser's generated scripts: the exported model, its runtime and its config.
BOOK_WEB_DIR = BOOK_GENERATED / "colouriser"
#: Recorded measurements: results of runs this checkout cannot repeat in CI's time (the recipe search), each
#: folder with the machine, commit and date it came from. The only generated files committed.
RESULTS_DIR = CHECKOUT / "results"
RECIPE_SEARCH = RESULTS_DIR / "recipe-search"
MODEL_SEARCH = RESULTS_DIR / "model-search"
#: The default model against more photos, epochs or a faster learning rate, 3 seeds each (scripts/scale_checks.py)
SCALE_CHECKS = RESULTS_DIR / "scale-checks"
#: jupyter-book 1.x writes next to the _config.yml it found (the repository root), not inside book/.
BOOK_HTML = STUDY_ROOT / "_build" / "html" / "index.html"
