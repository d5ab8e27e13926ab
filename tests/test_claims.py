"""The landing page's scoreboard: each of the paper's claims judged by the direction this study measured."""

from __future__ import annotations

import pandas as pd

from study.claims import VERDICTS, claim_counts, paper_claims

VALUES = {
    "grey_keras2_accuracy": 0.78,
    "vgg16_epochs": 3,
    "vgg16_vs_grey_rebalanced_auc_verdict": "better",
    "vgg16_vs_grey_ciede2000_verdict": "worse",
}


def summary(**verdicts) -> pd.DataFrame:
    """A parallel summary with the three rows the speed claims read, each with a speedup and a verdict."""
    rows = [
        ("papers-generator", 1, 1, "threads", 1.0, "baseline"),
        ("papers-generator", 1, 2, "threads", *verdicts["threads2"]),
        ("papers-generator", 1, 4, "threads", *verdicts["threads4"]),
        ("whole-network", 1, 1, "threads", 1.0, "baseline"),
        ("whole-network", 2, 1, "threads", *verdicts["devices2"]),
    ]
    return pd.DataFrame(
        rows, columns=["regime", "devices", "workers", "loader", "speedup", "verdict"]
    )


def test_a_claim_is_reproduced_in_kind_only_where_this_study_measured_its_direction():
    claims = paper_claims(
        summary(threads2=(0.4, "loss"), threads4=(1.1, "no difference"), devices2=(1.68, "gain")),
        VALUES,
    ).set_index("claim")
    assert claims.loc["2 loading threads", "verdict"] == "not reproduced"
    assert claims.loc["2 loading threads", "here"].endswith("0.40x (loss)")
    assert claims.loc["4 loading threads", "verdict"] == "not reproduced"
    assert claims.loc["2 GPUs", "verdict"] == "reproduced in kind"
    assert claims.loc["2 GPUs", "paper"] == "2.34x"  # the paper's times' ratio, from paper.py
    assert claims.loc["accuracy", "verdict"] == "does not measure colour"
    assert "0.78" in claims.loc["accuracy", "here"]
    assert claims.loc["overfitting", "verdict"] == "not testable here"
    # better than grey by one measure and worse by the per-pixel one: not the paper's "colours well"
    assert claims.loc["the model colours photos", "verdict"] == "not reproduced"
    better = paper_claims(None, VALUES | {"vgg16_vs_grey_ciede2000_verdict": "no difference"})
    assert (
        better.set_index("claim").loc["the model colours photos", "verdict"] == "reproduced in kind"
    )


def test_without_timings_the_speed_claims_are_not_tested_and_the_counts_add_up():
    claims = paper_claims(None, VALUES)
    assert set(claims.verdict) <= set(VERDICTS)
    assert (claims.verdict[:3] == "not testable here").all()
    counts = claim_counts(claims)
    assert counts["claims_total"] == 6 == sum(v for k, v in counts.items() if k != "claims_total")
    assert counts["claims_not_testable_here"] == 4
