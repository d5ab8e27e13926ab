# The study's pipeline, run by Snakemake (`make study` calls `python -m study run`, which calls it):
#
#   data, model pages -> colouring runs (model x seed) -> colourise's default model -> its ONNX export
#   timing processes (one at a time) -> parallel page -> evaluate page -> models page -> study record
#   -> reproducibility page -> the book
#
# A step runs again when one of its inputs is newer than its outputs, or its parameters changed; otherwise its
# outputs are reused. Its inputs: the notebook it executes, the outputs of the steps before it, and the code,
# through fingerprint files (runs/code/*.txt) rewritten only when the code they digest changes. So a wording
# edit in a notebook re-executes that notebook and the book; an edit in colourlib/model.py retrains the colouring
# runs (and re-times the matrix); an edit of study.yaml re-executes the pages that read it and retrains or
# re-times only the runs whose parameters it changed.
# `snakemake --dry-run` lists what would run; the Reproducibility appendix draws this graph.
#
# Options (snakemake --config KEY=VALUE): preset (default quick; tiny: a smoke test), study_file (default
# study/study.yaml), force (true: retrain and re-time everything, with --forceall).

from pathlib import Path

from colourlib import paths
from colourlib.paths import relative
from study import paths as study_paths
from study import pipeline
from study.config import load as load_study_config

PRESET = str(config.get("preset", "quick"))
STUDY_FILE = config.get("study_file") or None
FORCE = str(config.get("force", "false")).lower() == "true"
STUDY = load_study_config(STUDY_FILE)  # the whole file, validated before any step runs
MATRIX = pipeline.study_matrix(STUDY_FILE, PRESET)

RUNS = paths.runs_dir()
PAGES = study_paths.BOOK_RUNS_DIR
NOTEBOOKS = study_paths.NOTEBOOKS_DIR
BENCH = RUNS / "benchmarks"
CODE = pipeline.write_fingerprints(RUNS / "code")
STUDY_ARGS = {"preset": PRESET, "study_file": relative(STUDY.path)}

COLOURING = pipeline.colouring_configs(STUDY, PRESET)
COLOURING_PAGES = {key: PAGES / "train" / f"colouring-{key[0]}-seed{key[1]}.ipynb" for key in COLOURING}
PARALLEL = RUNS / "parallel"
TIMINGS = pipeline.timing_outputs(MATRIX, PARALLEL)
ALL_TIMINGS = [f for _, files in TIMINGS for f in files]
DEFAULT_MODEL = "lite0"
SETUP = pipeline.timing_setup()
RECORD_STEPS = pipeline.record_steps(STUDY, PRESET, BENCH, len(TIMINGS))


rule all:
    input:
        study_paths.BOOK_HTML,


rule data:
    input:
        NOTEBOOKS / "data.ipynb",
        CODE["pages"],
        STUDY.path,
    output:
        PAGES / "data.ipynb",
    params:
        STUDY_ARGS,
    benchmark:
        BENCH / "data.tsv"
    run:
        pipeline.page("data", output[0], params[0])


rule model:
    input:
        NOTEBOOKS / "model.ipynb",
        CODE["pages"],
    output:
        PAGES / "model.ipynb",
    benchmark:
        BENCH / "model.tsv"
    run:
        pipeline.page("model", output[0], {})


rule colouring:
    """One colouring run (a model and a seed) through train.ipynb; an interrupted run resumes."""
    input:
        NOTEBOOKS / "train.ipynb",
        CODE["training"],
        CODE["pages"],
    output:
        PAGES / "train" / "colouring-{model}-seed{seed}.ipynb",
    params:
        config=lambda w: COLOURING[(w.model, int(w.seed))].to_dict(),
    benchmark:
        BENCH / "colouring-{model}-seed{seed}.tsv"
    run:
        pipeline.colouring_page(
            COLOURING[(wildcards.model, int(wildcards.seed))],
            output[0],
            FORCE,
            relative(STUDY_FILE) if STUDY_FILE else None,
        )


rule default_model:
    """The default model's seed with the lowest validation loss becomes colourise's default."""
    input:
        [page for (model, _), page in COLOURING_PAGES.items() if model == DEFAULT_MODEL],
    output:
        paths.default_model_record(),
    run:
        pipeline.choose_default([c for (m, _), c in COLOURING.items() if m == DEFAULT_MODEL])


rule export:
    """The default model as ONNX: colourise's fast path and the book's in-browser colouriser."""
    input:
        paths.default_model_record(),
        CODE["export"],
    output:
        RUNS / "colourise-export.json",
    benchmark:
        BENCH / "export.tsv"
    run:
        pipeline.export_default(output[0])


# One rule per timing process, each after the one before: they run alone, in the order that rotates the regimes
# and rows from repeat to repeat (a drift of the machine falls on every configuration alike).
for _index, (_job, _files) in enumerate(TIMINGS):

    rule:
        name:
            f"timing_{_index + 1}"
        input:
            CODE["timing"],
            # after the process before it, without redoing this one when that one is redone
            [ancient(str(f)) for f in TIMINGS[_index - 1][1]] if _index else [],
        output:
            _files,
        params:
            rows=pipeline.timing_parameters(MATRIX, _job),
            setup=SETUP,  # the CPU, its cores and the settings that change what a timing measures
            index=_index,
        benchmark:
            BENCH / f"timing-{_index + 1}.tsv"
        run:
            pipeline.timing_step(MATRIX, params.index, PARALLEL)


rule parallel:
    input:
        NOTEBOOKS / "parallel.ipynb",
        CODE["pages"],
        STUDY.path,
        ALL_TIMINGS,
    output:
        PAGES / "parallel.ipynb",
        PARALLEL / "summary.csv",
    params:
        STUDY_ARGS,
    benchmark:
        BENCH / "parallel.tsv"
    run:
        pipeline.page("parallel", output[0], {**params[0], "runs": relative(PARALLEL)})


rule evaluate:
    input:
        NOTEBOOKS / "evaluate.ipynb",
        CODE["pages"],
        STUDY.path,
        sorted(study_paths.RECIPE_SEARCH.glob("*")),
        COLOURING_PAGES.values(),
        PARALLEL / "summary.csv",
    output:
        PAGES / "evaluate.ipynb",
    params:
        runs=pipeline.evaluate_parameters(STUDY, PRESET),
    benchmark:
        BENCH / "evaluate.tsv"
    run:
        pipeline.page("evaluate", output[0], params.runs)


rule models:
    input:
        NOTEBOOKS / "model-search.ipynb",
        CODE["pages"],
        sorted(study_paths.MODEL_SEARCH.glob("*")),
        sorted(study_paths.SCALE_CHECKS.glob("*")),
    output:
        PAGES / "model-search.ipynb",
    benchmark:
        BENCH / "models.tsv"
    run:
        pipeline.page("model-search", output[0], {})


rule record:
    """The steps with their commands and times (each step's benchmark), for the reproducibility appendix."""
    input:
        # ancient: the record needs these done, but a page executed again (a wording edit) leaves the record,
        # and so the reproducibility page, as they are
        # (fresh strings: ancient() marks the object it is given, and the book reads these same files as new)
        [
            ancient(str(path))
            for path in [
                PAGES / "data.ipynb",
                PAGES / "model.ipynb",
                *COLOURING_PAGES.values(),
                RUNS / "colourise-export.json",
                PAGES / "parallel.ipynb",
                PAGES / "evaluate.ipynb",
                PAGES / "model-search.ipynb",
            ]
        ],
    output:
        PAGES / pipeline.STUDY_RECORD,
    params:
        # what the record describes: a step retrained or re-timed (new commands or code) rewrites it
        commands=[command for _, command, _ in RECORD_STEPS],
        code=[path.read_text() for path in CODE.values()],
    run:
        pipeline.write_record(
            PRESET,
            STUDY.path,
            RECORD_STEPS,
            output[0],
            pipeline.rule_graph(PRESET, STUDY_FILE),
        )


rule reproducibility:
    input:
        NOTEBOOKS / "reproducibility.ipynb",
        CODE["pages"],
        rules.record.output,
    output:
        PAGES / "reproducibility.ipynb",
    benchmark:
        BENCH / "reproducibility.tsv"
    run:
        pipeline.page("reproducibility", output[0], {"record": relative(input[2])})


rule book:
    """The book, built with jupyter-book -W -n and checked."""
    input:
        rules.data.output,
        rules.model.output,
        COLOURING_PAGES.values(),
        rules.parallel.output[0],
        rules.evaluate.output,
        rules.models.output,
        rules.reproducibility.output,
        rules.export.output,
        sorted(study_paths.BOOK_DIR.glob("*.md")),
        study_paths.BOOK_DIR / "references.bib",
        sorted(p for p in (study_paths.BOOK_DIR / "_extra").rglob("*") if p.is_file()),
        sorted(p for p in (study_paths.BOOK_DIR / "_static").rglob("*") if p.is_file()),
        paths.STUDY_ROOT / "_config.yml",
        paths.STUDY_ROOT / "_toc.yml",
    output:
        study_paths.BOOK_HTML,
    benchmark:
        BENCH / "book.tsv"
    run:
        pipeline.build(list(COLOURING_PAGES.values()))
