"""The paper's claims, each judged against what this study measured: the landing page's scoreboard.

A claim is *reproduced in kind* when this study measured the same direction the paper reports (a gain where it
reports a speedup, a model better than grey where it reports good colours), *not reproduced* when it measured
no difference or the opposite, *not testable here* when this study cannot run what the claim needs (and says
why), and *does not measure colour* when the paper's measure scores a colourless photo as well. The magnitudes
stay in the chapters: a CPU core is not a 2019 GPU, and 3 epochs are not 1,000."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from colourlib import paper

#: The verdicts, in the order the scoreboard explains them.
VERDICTS = ("reproduced in kind", "not reproduced", "not testable here", "does not measure colour")
#: What the paper reports without a number this study can time: its accuracy and where it saw overfitting.
PAPER_ACCURACY, PAPER_OVERFITTING_EPOCH = 0.80, 600


def read_summary(path: str | Path) -> pd.DataFrame | None:
    """The parallel chapter's ``summary.csv``, or None where no timing ran (a notebook executed on its own)."""
    path = Path(path)
    return pd.read_csv(path) if path.is_file() else None


def _speed_row(summary, regime: str, devices: int, workers: int, loader: str):
    if summary is None:
        return None
    rows = summary[
        (summary.regime == regime)
        & (summary.devices == devices)
        & (summary.workers == workers)
        & (summary.loader == loader)
        & (summary.verdict != "baseline")
    ]
    return (
        None if rows.empty else rows.iloc[-1]
    )  # the last: the one on every core, where two were timed


def _speed_claim(claim: str, paper_speedup: float, row, what: str) -> dict:
    base = {"claim": claim, "paper": f"{paper_speedup:.2f}x"}
    if row is None:
        return base | {"verdict": "not testable here", "here": f"{what}: not timed in this run"}
    verdict = "reproduced in kind" if row.verdict == "gain" else "not reproduced"
    return base | {"verdict": verdict, "here": f"{what}: {row.speedup:.2f}x ({row.verdict})"}


def paper_claims(summary: pd.DataFrame | None, values: dict) -> pd.DataFrame:
    """One row per claim of the paper: the claim, the paper's figure, the verdict (one of :data:`VERDICTS`) and
    what this study measured. ``summary`` is the parallel chapter's summary (None: not timed), ``values`` the
    evaluation chapter's values (:func:`study.comparison.comparison_values`)."""
    speed = [
        (
            "2 loading threads",
            (1, 2),
            ("papers-generator", 1, 2, "threads"),
            "2 threads, the paper's generator",
        ),
        (
            "4 loading threads",
            (1, 4),
            ("papers-generator", 1, 4, "threads"),
            "4 threads, the paper's generator",
        ),
        ("2 GPUs", (2, 1), ("whole-network", 2, 1, "threads"), "2 devices of a CPU core each"),
    ]
    rows = [
        _speed_claim(
            claim, paper.SECONDS[(1, 1)] / paper.SECONDS[key], _speed_row(summary, *where), what
        )
        for claim, key, where, what in speed
    ]
    rows.append(
        {
            "claim": "accuracy",
            "paper": f"about {PAPER_ACCURACY:.0%}",
            "verdict": "does not measure colour",
            "here": f"grey photos score {values['grey_keras2_accuracy']:.2f} on it",
        }
    )
    rows.append(
        {
            "claim": "overfitting",
            "paper": f"near epoch {PAPER_OVERFITTING_EPOCH} of {paper.WORKLOAD['epochs']:,}",
            "verdict": "not testable here",
            "here": f"{values['vgg16_epochs']} epochs trained here, on a 2-core CPU",
        }
    )
    auc, ciede = (
        values["vgg16_vs_grey_rebalanced_auc_verdict"],
        values["vgg16_vs_grey_ciede2000_verdict"],
    )
    rows.append(
        {
            "claim": "the model colours photos",
            "paper": "its examples",
            "verdict": "reproduced in kind"
            if auc == "better" and ciede != "worse"
            else "not reproduced",
            "here": f"against grey: rebalanced AuC {auc}, CIEDE2000 {ciede}",
        }
    )
    return pd.DataFrame(rows)


def claim_counts(claims: pd.DataFrame) -> dict[str, int]:
    """How many claims got each verdict (glued for the landing page's sentence), and how many there are."""
    counts = {f"claims_{v.replace(' ', '_')}": int((claims.verdict == v).sum()) for v in VERDICTS}
    return counts | {"claims_total": len(claims)}
