"""Where a sampler's trials go on ``benchmarks/conditional.py``'s problems, beside its regret.

For one problem, space kind and seed range, prints one line: the median and the geometric mean
of the regret at 50 / 100 / 200 evaluations, and the *off-branch share*, i.e. the fraction of
trials 10-49 (after tpe's random start) spent outside the best branch (``kind != "a"`` on
``branch`` and ``branch3``; ``n != 3`` on ``depth``). The mean, median and upper quartile of that share are
taken over the seeds. A mean well above the median means that a few seeds locked onto a wrong
branch.

The geometric mean is printed because the medians on these problems depend on how many seeds
lock onto a wrong branch. The flat workaround on ``depth`` locks in about half of the seeds, so
its median is 0.25 on seeds 0-49 and 0.014 on seeds 100-149 (RESULTS.md, "tpe's branch
allocation").

    PYTHONPATH=src nice python benchmarks/conditional_share.py --problem branch --kind when --seeds 0 50
    PYTHONPATH=src nice python benchmarks/conditional_share.py --problem depth --kind flat --seeds 100 150 --sampler tpe

The variants measured in that section are a patch, ``benchmarks/variants/tpe_branch_allocation.patch``.
It applies to ``src/tansaku/samplers/_tpe.py`` as of this commit, and the environment variable
``TK_TPE_FLATROOT`` picks the variant. Apply it to a scratch copy of ``src`` and run this script
unchanged.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tansaku as tk  # noqa: E402
from conditional import PROBLEMS  # noqa: E402

BUDGETS = (50, 100, 200)


def off_branch(problem: str, trials: list) -> float:
    """Fraction of trials 10-49 outside the problem's best branch (``kind`` a, or depth 3)."""
    window = trials[10:50]
    if problem in ("branch", "branch3"):
        return float(np.mean([t.params["kind"] != "a" for t in window]))
    return float(np.mean([t.params["n"] != 3 for t in window]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", choices=("branch", "branch3", "depth"), required=True)
    ap.add_argument("--kind", choices=("when", "flat"), required=True)
    ap.add_argument("--seeds", nargs=2, type=int, metavar=("FIRST", "END"), default=(0, 10))
    ap.add_argument("--sampler", default="tpe")
    args = ap.parse_args()
    make, f = PROBLEMS[args.problem]
    best: dict[int, list[float]] = {b: [] for b in BUDGETS}
    share = []
    for seed in range(*args.seeds):
        smp = {"name": args.sampler, "seed": seed}
        study = tk.create_study(make(args.kind == "when"), sampler=smp, storage=None)
        study.optimize(lambda t: f(dict(t.params)), n_trials=max(BUDGETS))
        values = [float(t.value) for t in study.trials]
        share.append(off_branch(args.problem, study.trials))
        for b in BUDGETS:
            best[b].append(min(values[:b]))
    cells = " ".join(
        f"@{b} {statistics.median(v):.4f}/{math.exp(np.mean(np.log(np.maximum(v, 1e-12)))):.4f}"
        for b, v in best.items())
    variant = os.environ.get("TK_TPE_FLATROOT", "-")
    first, end = args.seeds
    print(f"{args.problem} {args.kind} {args.sampler} variant={variant} seeds {first}-{end - 1}"
          f" median/geomean {cells} off-branch share mean {np.mean(share):.3f}"
          f" median {np.median(share):.3f} q75 {np.quantile(share, 0.75):.3f}", flush=True)


if __name__ == "__main__":
    main()
