"""``cmaes``: CMA-ES through the ``cmaes`` package, with IPOP restarts and replayable state.

How the contract maps onto CMA-ES's generations:

* Parallel workers: each ``ask`` hands out the next member of the current generation, whoever is
  free; when more workers ask than the generation has members, extra members are drawn from the
  same distribution.  CMA-ES is told an update as soon as ``popsize`` finished members are
  waiting (in finishing order), whichever generation drew them, as long as that generation is at
  most ``max_age`` updates older than the current one; older members are dropped, none is told
  twice.  With one worker every update is one whole generation, as in plain CMA-ES.  With many
  workers this keeps the updates coming at the rate trials finish (64 workers, popsize 9: about
  seven updates per trial duration instead of one, where a generation had to wait for members
  drawn after the previous update) and uses most finished members instead of the first
  ``popsize`` of each generation; ``max_age: 0`` restores that older rule.  A member from an older
  generation is told as drawn (CMA-ES re-centres it on the current mean), which is why its age is
  bounded: on ``benchmarks/scale.py ratio`` (hartmann6, 64 workers) an unbounded age was worse
  than 3-5 (RESULTS.md, issue 15.3).
* Values: CMA-ES only uses ranks.  Complete members keep their loss; pruned members rank after
  every complete member of their generation (ordered by their last value), failed ones after
  those: a member that crashed is "worse than anything that ran".
* Restarts (IPOP, Auger & Hansen 2005): when ``should_stop()`` says the search has converged,
  a new CMA-ES starts from a uniformly random point with ``inc_popsize`` times the population.
* Which optimiser: ``cmaes.CMA``, ``cmaes.CMAwM`` (margin for ints) or ``cmaes.CatCMAwM``
  (categoricals, log ints); see :mod:`tansaku.samplers._cma_backend`.
* Start: the mean is the centre of the unit cube (or ``x0``) and ``sigma0`` defaults to 1/6 of
  each range, so mean +- 3 sigma spans the box (the usual rule; Optuna's default too).  The
  earlier default 0.2 was a little worse at small budgets on development seeds (100-119 of the
  issue-4 functions, 50 evaluations), equal by 200.
* Trials this sampler did not propose (enqueued ones, another sampler's) are ignored.
* A conditional space: one CMA-ES per branch (an assignment of the parameters that conditions
  name), each over its branch's own active parameters; which branch a proposal serves is the
  rule of :mod:`tansaku.samplers._branches`.
* ``consider_pending`` is accepted so every model-based sampler takes the same options, but it
  changes nothing here: the members of a generation are distinct draws whatever is pending, and
  pending trials' meta is always read (a resume needs it to re-draw the members they hold).

State persistence: nothing but ``{"cma": [restart, generation, member], "seed": s}`` is stored
with each trial (``Proposal.meta``, about 40 bytes of JSON).  On resume the study tells every
finished trial and passes the pending ones to ``ask``; the sampler then *replays*: it rebuilds each
restart's optimiser from ``seed``, re-draws every generation's members (``ask`` is deterministic
for a given seed and history) and tells the same generations with the same values, which gives
back exactly the state -- and the next proposals -- the original run had.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tansaku._errors import ConfigError
from tansaku._records import FrozenTrial, TrialState
from tansaku.samplers._base import Proposal, Sampler
from tansaku.samplers._branches import split
from tansaku.samplers._cma_backend import Backend
from tansaku.samplers._tpe import unit_edges

__all__ = ["CmaEsSampler"]


def _seed32(*keys: int) -> int:
    return int(np.random.SeedSequence([k % (1 << 63) for k in keys]).generate_state(1)[0])


class CmaEsSampler(Sampler):
    """CMA-ES with IPOP restarts; see the module docstring for the parallel and resume rules."""

    name = "cmaes"

    def __init__(
        self,
        *,
        seed: int | None = None,
        sigma0: float = 1 / 6,
        x0: Mapping[str, Any] | None = None,
        popsize: int | None = None,
        restart: str | None = "ipop",
        inc_popsize: float = 2.0,
        with_margin: bool = True,
        consider_pending: bool = True,
        max_age: int = 4,
    ) -> None:
        super().__init__(seed=seed)
        if isinstance(sigma0, bool) or not isinstance(sigma0, (int, float)) or not 0 < sigma0 <= 1:
            raise ConfigError(f"must be a number in (0, 1] (a fraction of each range), got {sigma0!r}",
                              field="sigma0")
        if popsize is not None and (isinstance(popsize, bool) or not isinstance(popsize, int)
                                    or popsize < 2):
            raise ConfigError(f"must be an integer >= 2 or null, got {popsize!r}", field="popsize")
        if restart not in ("ipop", None, "none"):
            raise ConfigError(f"must be 'ipop' or 'none', got {restart!r}", field="restart")
        if isinstance(inc_popsize, bool) or not isinstance(inc_popsize, (int, float)) or inc_popsize < 1:
            raise ConfigError(f"must be a number >= 1, got {inc_popsize!r}", field="inc_popsize")
        if not isinstance(with_margin, bool):
            raise ConfigError(f"must be true or false, got {with_margin!r}", field="with_margin")
        if not isinstance(consider_pending, bool):
            raise ConfigError(f"must be true or false, got {consider_pending!r}",
                              field="consider_pending")
        if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
            raise ConfigError(f"must be an integer >= 0, got {max_age!r}", field="max_age")
        if x0 is not None and not isinstance(x0, Mapping):
            raise ConfigError(f"must be a mapping of parameter values, got {x0!r}", field="x0")
        self.sigma0, self.x0, self.popsize = float(sigma0), x0, popsize
        self.restart = "ipop" if restart == "ipop" else "none"
        self.inc_popsize, self.with_margin = float(inc_popsize), with_margin
        self.consider_pending, self.max_age = consider_pending, max_age
        self._run_seed: int | None = None
        self._opt: Backend | None = None
        self._restart = self._gen = 0
        #: the current restart's drawn members by generation (kept while they may be told)
        self._drawn: dict[int, list[Any]] = {}
        #: finished members not told yet, in finishing order: (restart, generation, member, tier, loss)
        self._waiting: list[tuple[int, int, int, int, float]] = []
        self._seen: set[tuple[int, int, int]] = set()
        #: members per (restart, generation) that the trials show were drawn
        self._known: dict[tuple[int, int], int] = {}
        self.n_restarts = 0  # restarts performed (for tests and reports)

    def setup(self) -> None:
        # a conditional space: one CMA-ES per branch (tansaku.samplers._branches)
        self._split = split(self, self._branch_sampler)
        self._mean0 = np.full(len(self.space), 0.5)
        if self.x0 is not None and self._split is None:
            try:
                self._mean0 = self.space.to_unit(self.space.validate_params(self.x0))
            except ConfigError as e:
                raise ConfigError(e.reason, field=f"x0{'.' + e.field if e.field else ''}") from None
        self._edges = unit_edges(self.space)

    def _branch_sampler(self, seed: int | None, names: Sequence[str]) -> CmaEsSampler:
        """The inner CMA-ES of one branch: the same options, ``x0`` cut to its parameters."""
        x0 = None
        if self.x0 is not None and all(n in self.x0 for n in names):
            x0 = {n: self.x0[n] for n in names}
        return CmaEsSampler(seed=seed, sigma0=self.sigma0, x0=x0, popsize=self.popsize,
                            restart=self.restart, inc_popsize=self.inc_popsize,
                            with_margin=self.with_margin, consider_pending=self.consider_pending,
                            max_age=self.max_age)

    # -- meta and bookkeeping ----------------------------------------------------------------------
    @staticmethod
    def _tag(trial: FrozenTrial) -> tuple[int, int, int, int] | None:
        meta = trial.sampler_meta
        tag, seed = meta.get("cma"), meta.get("seed")
        if not (isinstance(tag, (list, tuple)) and len(tag) == 3 and isinstance(seed, int)):
            return None
        if not all(isinstance(v, int) and v >= 0 for v in tag):
            return None
        return int(seed), int(tag[0]), int(tag[1]), int(tag[2])

    def _current(self, seed: int, r: int, g: int) -> bool:
        """Whether a tagged trial belongs to this run and is not from a finished restart or a
        generation already too old to be told (``max_age``)."""
        if self._run_seed is None and self._opt is None:
            self._run_seed = seed  # resume: continue the run the stored trials came from
        return seed == self._run_seed and (r, g) >= (self._restart, self._gen - self.max_age)

    def tell(self, trial: FrozenTrial) -> None:
        if self._split is not None:
            self._split.tell(trial)
            return
        tag = self._tag(trial)
        if tag is None or not trial.state.is_finished or not self._current(*tag[:3]):
            return
        _, r, g, i = tag
        if (r, g, i) in self._seen:
            return
        self._seen.add((r, g, i))
        loss = self.loss(trial)
        tier = 0 if trial.state is TrialState.COMPLETE and math.isfinite(loss) else 1
        if trial.state is TrialState.FAILED or not math.isfinite(loss):
            tier, loss = 2, 0.0
        self._waiting.append((r, g, i, tier, loss))
        self._known[(r, g)] = max(self._known.get((r, g), 0), i + 1)

    # -- the optimiser -----------------------------------------------------------------------------
    def _backend(self, restart: int) -> Backend:
        assert self._run_seed is not None
        popsize = self.popsize
        if restart:
            rng = np.random.default_rng(_seed32(self._run_seed, restart, 1))
            mean = rng.random(len(self.space))
            base = self._opt.popsize if self._opt is not None else (popsize or 0)
            popsize = math.ceil(base * self.inc_popsize)
        else:
            mean = self._mean0
        return Backend(self.space.dims, edges=self._edges, mean=mean, sigma=self.sigma0,
                       popsize=popsize, seed=_seed32(self._run_seed, restart), with_margin=self.with_margin)

    @staticmethod
    def _values(ranked: list[tuple[int, float]]) -> list[float]:
        """Rank-preserving values: complete losses, then pruned, then failed (see docstring)."""
        done = [v for t, v in ranked if t == 0]
        hi, lo = (max(done), min(done)) if done else (0.0, 0.0)
        step = max(1.0, hi - lo)
        later = sorted(range(len(ranked)), key=lambda k: ranked[k])
        out = [v for _, v in ranked]
        j = 0
        for k in later:
            if ranked[k][0] > 0:
                j += 1
                out[k] = hi + j * step
        return out

    def _sync(self) -> None:
        """Tell CMA-ES every ``popsize`` waiting members (re-drawing members as needed).

        A function of the finishing order only: on resume every finished trial is told before the
        first ask, so the waiting list then also holds members that finished after an update of
        the original run, but always *behind* the ``popsize`` it used (a member drawn after an
        update finishes after it), so the first ``popsize`` waiting are that update's members."""
        assert self._opt is not None
        while True:
            r, g = self._restart, self._gen
            drawn = self._drawn.setdefault(g, [])
            while len(drawn) < self._known.get((r, g), 0):
                drawn.append(self._opt.ask()[1])
            oldest = g - self.max_age
            self._waiting = [w for w in self._waiting if (w[0], w[1]) >= (r, oldest)]
            use = self._waiting[: self._opt.popsize]
            if len(use) < self._opt.popsize:
                return
            used = {w[:3] for w in use}
            self._waiting = [w for w in self._waiting if w[:3] not in used]
            values = self._values([(w[3], w[4]) for w in use])
            self._opt.tell([(self._drawn[w[1]][w[2]], v) for w, v in zip(use, values)])
            self._gen += 1
            self._drawn = {k: v for k, v in self._drawn.items() if k >= self._gen - self.max_age}
            self._known = {k: v for k, v in self._known.items() if k >= (r, self._gen - self.max_age)}
            if self.restart == "ipop" and self._opt.should_stop():
                self._restart += 1
                self._gen = 0
                self._drawn = {}
                self._opt = self._backend(self._restart)
                self.n_restarts = self._restart

    def ask(self, pending: Sequence[FrozenTrial]) -> Proposal | None:
        if self._split is not None:
            return self._split.ask(pending)
        for t in pending:
            tag = self._tag(t)
            if tag is not None and self._current(*tag[:3]):
                key = (tag[1], tag[2])
                self._known[key] = max(self._known.get(key, 0), tag[3] + 1)
        if self._opt is None:
            if self._run_seed is None:
                self._run_seed = self.seed if self.seed is not None else int(self.rng.integers(2**31))
            self._opt = self._backend(0)  # replay walks through every restart from the first
        self._sync()
        drawn = self._drawn.setdefault(self._gen, [])
        i = len(drawn)
        u, token = self._opt.ask()
        drawn.append(token)
        meta = {"cma": [self._restart, self._gen, i], "seed": self._run_seed}
        return Proposal(self.space.from_unit(u), meta)
