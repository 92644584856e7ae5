"""``auto``: the default sampler -- picks an algorithm per trial from the space, budget and workers.

The rule (:func:`choose`, measured in ``benchmarks/RESULTS.md``, section "auto"):

* the first ``n_startup_trials`` points (default 10, counting finished and pending trials) come
  from one scrambled Sobol' sequence, whatever follows;
* a space with a categorical parameter, and a define-by-run space: ``tpe`` -- its categorical
  kernels beat the GP's relaxed coordinates there, and it stays cheap at any budget;
* except a declared conditional space whose categoricals all choose branches (each is a
  parent of some ``when``, e.g. ``optimizer`` in {sgd, adam} with each optimizer's own
  parameters; kind ``"branched"``): it follows the rules below like a space of floats and ints.
  gp's Hamming term on the parent keeps the branches' trials apart and scores each branch at
  the points its trials sit at, while tpe's root model sends a quarter of its trials to the
  worse branch (RESULTS.md, "tpe's branch allocation").  On ``benchmarks/conditional.py``
  ``branch`` and ``branch3``, auto with conditions at 50 evaluations went from tpe's 0.0220
  and 0.0756 to 2.8e-05 and 8.8e-05; the flat workaround, which has a categorical and goes to
  tpe, is at 0.0108 and 0.154 (RESULTS.md, "auto on spaces whose categoricals choose
  branches").  A categorical that decides no condition keeps the space with tpe;
* a declared conditional space without a categorical (its parents are ints or stepped floats)
  follows the rules below like its flat version: gp scores a conditional space at the points its
  trials sit at (docs/conditional.md) and on ``benchmarks/conditional.py depth`` was far better
  than tpe (auto with conditions at 50 evaluations: 0.0000 with this rule, 0.1967 when every
  conditional space went to tpe, while the flat workaround's int space already went to gp;
  RESULTS.md, branch ``cnm``);
* otherwise (floats and ints): ``tpe`` until the study has ``GP_POINTS_PER_DIM`` (2) trials per
  dimension (only a space of more than 5 dimensions gets any: a GP fitted on fewer points lost
  to random search at 20 evaluations in 10-D), then ``gp`` -- the most sample-efficient sampler
  on every continuous benchmark up to 200 evaluations -- until ``gp_max_trials`` trials (default
  300), where its cost
  per suggestion (about 0.1 s at 1,000 trials) stops being worth it; then ``tpe`` with fewer than
  4 workers, or predictive ``nelder-mead`` (started from the best points so far) with 4 or more,
  whose simulated continuations keep many workers busy on useful points.  When the study's budget
  is known and ends before ``gp_max_trials * 1.25``, gp is kept to the end: switching for the
  last few trials saves little time and costs regret.
* a gp proposal equal to a point already tried (finished or pending) is replaced by tpe's
  proposal, or when that repeats too by the first untried of 64 uniform draws (recorded as
  ``"tpe"`` / ``"random"``).  gp itself never chooses a tried candidate (its mask sees log ints
  at their integer's point since issue 13's fourth pass), so this safety net fires only when
  every candidate of an ask is tried, on a nearly exhausted discrete space.

The budget is ``n_trials`` when given, else what the running ``optimize`` / ``tansaku run`` call
stops at (:meth:`Sampler.plan`); the workers are the most the study was bound or planned with.

Every sub-sampler is built when first chosen and told every finished trial so far, in order, then
each new one; each is the usual sampler with a seed derived from this one's, so a resumed study
(which replays the stored trials into a fresh ``auto``) proposes exactly what the uninterrupted
run would have, given the same budget and workers.  Each proposal stores what was picked as the
trial's system attribute ``auto_choice`` (``"sobol"``, ``"gp"``, ``"tpe"``, ``"nelder-mead"``,
``"random"``), shown by ``tansaku status`` and the report; the sub-sampler's own ``meta`` is
passed through unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tansaku._records import CHOICE_ATTR, FrozenTrial, choice_summary, sampler_label
from tansaku._space import Space
from tansaku.samplers._base import Proposal, Sampler
from tansaku.samplers._model_based import check_int

__all__ = ["CHOICE_ATTR", "AutoSampler", "choice_summary", "choose", "sampler_label", "space_kind"]

#: what ``auto`` may pick, in a fixed order (a sub-sampler's seed is derived from its position)
CHOICES = ("sobol", "gp", "tpe", "nelder-mead", "random")
#: picks whose proposal is checked against the points already tried (finished or pending)
REPEAT_CHECKED = ("gp",)
#: uniform draws tried for a point not evaluated yet when gp and tpe both repeat one
UNTRIED_DRAWS = 64
#: gp takes over once the study has this many trials per dimension (tpe before, after Sobol)
GP_POINTS_PER_DIM = 2
#: from this many workers on, a long continuous run hands over to predictive nelder-mead
MANY_WORKERS = 4
#: gp is kept to the end when a known budget ends before ``gp_max_trials`` times this
KEEP_GP_MARGIN = 1.25


def space_kind(space: Space) -> str:
    """``"conditional"`` (define-by-run, or a parameter with ``when`` and a categorical that
    decides no condition), ``"branched"`` (a declared conditional space whose categoricals all
    decide conditions: ``optimizer`` in {sgd, adam} with each optimizer's own parameters),
    ``"categorical"`` (any categorical, no condition), ``"integer"`` (some int or stepped float,
    no categorical; conditions or not) or ``"continuous"``."""
    if space.free:
        return "conditional"
    cats = {n for n, d in space.items() if d.dim.kind == "categorical"}
    if cats:
        if not space.conditional:
            return "categorical"
        return "branched" if cats <= set(space.parents) else "conditional"
    return "integer" if any(d.dim.kind == "discrete" for d in space.values()) else "continuous"


def choose(
    kind: str,
    n_seen: int,
    *,
    budget: int | None = None,
    n_workers: int = 1,
    n_startup: int = 10,
    gp_max: int = 300,
    n_dims: int = 0,
) -> str:
    """The sampler ``auto`` uses for the next proposal (see the module docstring).

    ``kind``: :func:`space_kind`; ``n_seen``: the study's finished plus pending trials;
    ``budget``: the study's expected total (None: unknown); ``n_dims``: the space's dimension."""
    if n_seen < n_startup:
        return "sobol"
    if kind in ("categorical", "conditional"):
        return "tpe"
    if n_seen < GP_POINTS_PER_DIM * n_dims:
        return "tpe"
    if n_seen < gp_max or (budget is not None and budget <= gp_max * KEEP_GP_MARGIN):
        return "gp"
    return "nelder-mead" if n_workers >= MANY_WORKERS else "tpe"


def _point_key(params: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """A hashable identity of a point (``repr`` keeps 1 and 1.0 and True apart)."""
    return tuple(
        sorted((k, repr(v.item() if hasattr(v, "item") else v)) for k, v in params.items())
    )


def _sub_seed(seed: int | None, name: str) -> int | None:
    if seed is None:
        return None
    state = np.random.SeedSequence([seed % (1 << 63), CHOICES.index(name)]).generate_state(1)
    return int(state[0])


class AutoSampler(Sampler):
    """Picks ``sobol`` / ``gp`` / ``tpe`` / ``nelder-mead`` per trial; see the module docstring.

    Options: ``seed``; ``n_startup_trials`` (10); ``gp_max_trials`` (300); ``n_trials`` (the
    budget to plan for; default: what each ``optimize`` call says)."""

    name = "auto"

    def __init__(
        self,
        *,
        seed: int | None = None,
        n_startup_trials: int = 10,
        gp_max_trials: int = 300,
        n_trials: int | None = None,
    ) -> None:
        super().__init__(seed=seed)
        self.n_startup_trials = check_int("n_startup_trials", n_startup_trials, low=1)
        self.gp_max_trials = check_int("gp_max_trials", gp_max_trials, low=1)
        self.n_trials = None if n_trials is None else check_int("n_trials", n_trials, low=1)
        self._budget = self.n_trials
        self._workers = 1
        self._kind = "continuous"
        self._dims = 0
        self._history: list[FrozenTrial] = []
        self._subs: dict[str, Sampler] = {}
        self._tried: set[tuple[tuple[str, str], ...]] = set()

    def setup(self) -> None:
        self._kind = space_kind(self.space)
        self._dims = len(self.space)
        self._workers = self.n_workers
        self._history = []
        self._subs = {}
        self._tried = set()

    def plan(self, *, n_trials: int | None, n_workers: int) -> None:
        if self.n_trials is None:
            self._budget = n_trials
        self._workers = max(self._workers, int(n_workers))

    def choice(self, n_pending: int = 0) -> str:
        """What the next ask picks with ``n_pending`` trials pending."""
        return choose(
            self._kind,
            len(self._history) + n_pending,
            budget=self._budget,
            n_workers=self._workers,
            n_startup=self.n_startup_trials,
            gp_max=self.gp_max_trials,
            n_dims=self._dims,
        )

    def _sub(self, name: str) -> Sampler:
        sub = self._subs.get(name)
        if sub is None:
            from tansaku.samplers._registry import make_sampler

            sub = make_sampler(name)
            sub.bind(
                self.space,
                direction=self.direction,
                seed=_sub_seed(self.seed, name),
                n_workers=self._workers,
            )
            for t in self._history:
                sub.tell(t)
            self._subs[name] = sub
        return sub

    def tell(self, trial: FrozenTrial) -> None:
        self._history.append(trial)
        self._tried.add(_point_key(trial.params))
        for sub in self._subs.values():
            sub.tell(trial)

    def _propose(self, name: str, pending: Sequence[FrozenTrial]) -> Proposal | None:
        out = self._sub(name).ask(pending)
        if out is None:
            return None
        return out if isinstance(out, Proposal) else Proposal(dict(out))

    def ask(self, pending: Sequence[FrozenTrial]) -> Proposal:
        name = self.choice(len(pending))
        proposal = self._propose(name, pending)
        if proposal is None:  # nelder-mead can run out of restarts; tpe always has a proposal
            name = "tpe"
            proposal = self._propose(name, pending)
            assert proposal is not None
        if name in REPEAT_CHECKED and self._repeats(proposal.params, pending):
            # every gp candidate was tried (a nearly exhausted space): evaluating a tried point
            # again teaches nothing, so take tpe's point, else a uniform draw not tried yet
            name, proposal = self._untried(pending)
        return Proposal(proposal.params, proposal.meta, {CHOICE_ATTR: name})

    def _untried(self, pending: Sequence[FrozenTrial]) -> tuple[str, Proposal]:
        """tpe's proposal if it is a new point, else the first of ``UNTRIED_DRAWS`` uniform draws
        that is (the last one when the space is nearly exhausted).  The draws depend only on the
        seed and the number of trials seen, so a replayed study draws the same points."""
        proposal = self._propose("tpe", pending)
        if proposal is not None and not self._repeats(proposal.params, pending):
            return "tpe", proposal
        n_seen = len(self._history) + len(pending)
        seed = _sub_seed(self.seed, "random")
        params: dict[str, Any] = {}
        for attempt in range(UNTRIED_DRAWS):
            rng = self.rng if seed is None else np.random.default_rng([seed, n_seen, attempt])
            params = self.space.from_unit(rng.random(len(self.space)))
            if not self._repeats(params, pending):
                break
        return "random", Proposal(params)

    def _repeats(self, params: dict[str, Any], pending: Sequence[FrozenTrial]) -> bool:
        key = _point_key(params)
        return key in self._tried or any(_point_key(t.params) == key for t in pending)
