"""How the book and the benchmarks write a few recurring things: counts of loading workers, cores, parameter
values. Words live here, above the core, so that changing one never changes what decides whether a run,
a timing or a feature cache is reused (:func:`colourlib.provenance.code_fingerprint`)."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from .. import paths
from ..provenance import cpu_model
from ..study.parallel import paper_claims


def count_loaders(workers: int, loaders: str, adjective: str = "") -> str:
    """'1 thread', '4 processes' ('1 loading thread' with ``adjective="loading"``): a count of data-loading
    workers as a person writes it."""
    singular = {"threads": "thread", "processes": "process"}.get(loaders, loaders)
    return " ".join(filter(None, (str(workers), adjective, loaders if workers != 1 else singular)))


#: What None means for the parameters where "default" would hide it.
NONE_MEANS = {"encoder_weights": "random", "data_dir": "embedded photos"}


def shown_value(name: str, value: Any) -> str:
    """Parameter ``name``'s ``value`` as a person would type it in a table: paths relative to the repository,
    None as what it means, strings without quotes."""
    if value is None:
        return NONE_MEANS.get(name, "default")
    if isinstance(value, str) and ("/" in value or value.endswith((".h5", ".keras"))):
        return paths.relative(value)
    return str(value)


def cores_phrase(usable: int | None, machine: int | None = None) -> str:
    """'2 cores', '1 core of 2': the cores a run could use, and the machine's when a container or ``taskset``
    allowed fewer (a time measured on 1 core of 2 must not read as a 2-core time)."""
    if usable is None:
        return "? cores"
    text = f"{usable} core{'' if usable == 1 else 's'}"
    return f"{text} of {machine}" if machine and machine != usable else text


def recorded_cores(env: dict) -> str:
    """:func:`cores_phrase` of an ``environment.json`` record (one written before ``machine_cores`` gives the count)."""
    return cores_phrase(env.get("cpu_cores"), env.get("machine_cores"))


def machine_summary() -> str:
    """The CPU and the cores this process may use, as the benchmarks print them beside their times."""
    from ..backend.runtime import usable_cores

    return f"{cpu_model()}, {cores_phrase(usable_cores(), os.cpu_count())}"


def speedup_range(low: float, high: float) -> str:
    """'0.96-1.03': a speedup range to 2 decimals, or more where a bound would otherwise print as 1.00 without
    being 1, so that the range a reader sees tells gain, loss and no difference apart as the verdict does."""

    def bound(x: float) -> str:
        digits = 2
        while x != 1 and float(f"{x:.{digits}f}") == 1 and digits < 6:
            digits += 1
        return f"{x:.{digits}f}"

    return f"{bound(low)}-{bound(high)}"


def _range(row) -> str:
    return f"{row.speedup:.2f}x (range {speedup_range(row.speedup_low, row.speedup_high)})"


def speed_findings(table: pd.DataFrame) -> list[str]:
    """What the timings say, per regime, as sentences computed from the ranges: what thread and process workers
    bought, what a second device bought, the kernel's share of CPU time, and how far the step is from sgemm."""
    sentences = []
    ok = table[table.status == "ok"]
    for regime, part in ok.groupby("regime", sort=False):
        base = part[part.verdict == "baseline"]
        if base.empty:
            continue
        b = base.iloc[0]
        text = (
            f"**{regime}**: one device and one loading thread ran {b.images_per_s:.1f} images/s "
            f"(range {b.images_per_s_low:.1f}-{b.images_per_s_high:.1f} over {int(b.repeats)} repeats), "
            f"{b.gflop_per_s:.0f} GFLOP/s, {b.share_of_sgemm:.0%} of this machine's sgemm; "
            f"the kernel took {b.kernel_share:.0%} of its CPU time."
        )
        for loaders in ("threads", "processes"):
            more = part[(part.gpus == 1) & (part.workers > 1) & (part.loaders == loaders)]
            if not more.empty:
                text += (
                    " More loading "
                    + loaders
                    + ": "
                    + "; ".join(
                        f"{int(r.workers)}: {_range(r)}, {r.verdict}" for r in more.itertuples()
                    )
                    + "."
                )
        two = part[(part.gpus == 2) & (part.workers == 1)]
        if not two.empty:
            r = two.iloc[0]
            text += f" Two devices ({r.devices}): {_range(r)}, {r.verdict}."
        gains = part[part.verdict == "gain"]
        if gains.empty:
            text += (
                " No configuration was faster than the baseline beyond the spread of the repeats."
            )
        else:
            best = gains.loc[gains.speedup.idxmax()]
            text += (
                f" Largest measured gain: {int(best.gpus)} device{'s' if best.gpus > 1 else ''} with "
                f"{count_loaders(int(best.workers), best.loaders, 'loading')}, "
                f"{_range(best)}."
            )
        sentences.append(text)
    return sentences


def headline(table: pd.DataFrame) -> str:
    """Plain sentences, one per regime, on whether the paper's speedups were reproduced here, computed from the
    ranges."""
    regimes = list(dict.fromkeys(table[table.status == "ok"].regime))
    sentences = [_headline(table, regime) for regime in regimes]
    return (
        " ".join(s for s in sentences if s)
        or "The paper's speedups could not be compared: nothing was timed."
    )


def _headline(table: pd.DataFrame, regime: str) -> str:
    claims = [c for c in paper_claims(table, regime) if "speedup" in c]
    if not claims:
        return ""
    reproduced = [c for c in claims if c["reproduced"]]
    lead = (
        "None of the paper's speedups was reproduced on this machine"
        if not reproduced
        else "All of the paper's speedups were reproduced on this machine"
        if len(reproduced) == len(claims)
        else f"{len(reproduced)} of the paper's {len(claims)} speedups "
        f"{'was' if len(reproduced) == 1 else 'were'} reproduced on this machine"
    )

    def what(c):
        unit = f"{c['gpus']} devices" if c["gpus"] > 1 else f"{c['workers']} loading threads"
        return (
            f"{unit}: paper {c['paper_speedup']:.2f}x, here {c['speedup']:.2f}x "
            f"(range {speedup_range(c['low'], c['high'])}, {c['verdict']})"
        )

    return f"{lead} ({regime} regime): " + "; ".join(what(c) for c in claims) + "."
