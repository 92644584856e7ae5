"""One search state per branch of a conditional space, for the samplers that keep a trajectory or a
population and split (``cmaes``, ``nelder-mead``; ``coordinate`` and ``one-axis`` search the whole
cube, see docs/conditional.md).

Such a sampler moves one point (or one distribution) through the unit cube.  On a conditional space
that cube holds every parameter of every branch, so a move along a coordinate that is inactive at
the current point changes nothing, and a step that flips a parent (``optimizer``) lands in another
branch where the other coordinates mean something else: the search is the flat workaround's.
Instead, :class:`Branches` splits the space:

* **Branches.**  The *structural* parameters are the parents named by some ``when``.  A branch is
  one assignment of values to the structural parameters that are active under it (walked in space
  order, so a nested parent is branched over only where it exists), e.g. ``{"optimizer": "sgd"}``
  or ``{"n_layers": 3}``.  Its sub-space is the other parameters active under that assignment,
  without their conditions: a flat space, searched by its own inner sampler (the same class and
  options, a seed derived from the sampler's seed and the branch's index).  A space with more
  than :data:`MAX_BRANCHES` branches is not split (the sampler searches the whole cube, as on a
  flat space).
* **Which branch a proposal serves** (a function of the trials only, so a resume continues
  exactly): first every branch gets one proposal, its *probe*, in space order: the centre of its
  sub-space (every coordinate of the unit cube at 0.5; a branch without parameters of its own
  gets just its assignment, and nothing more, ever).  The probe is made here, not by the inner
  sampler, so the inner sampler is told it as a trial it did not propose: ``nelder-mead`` takes
  it as the first vertex of its initial simplex when it has finished by the simplex's first ask
  (so it costs the simplex nothing; always so with one worker), ``cmaes`` ignores it (its mean
  starts at the same centre, or at ``x0``).  Then, with ``n`` trials so far
  (finished and pending) and ``B`` branches, a branch other than the best one (lowest loss among
  its finished trials) is served while it has had fewer than ``sqrt(n) / (B - 1)`` proposals
  beyond its probe (the one with the fewest first); otherwise the best branch is.  So the
  losing branches keep a slowly growing share (about ``sqrt(n)`` trials in all), enough to be
  caught up on if their own search improves, and the rest goes to the branch that is winning.
  The start used to be ``d + 1`` proposals of the inner sampler per branch (``d``: the
  sub-space's size): on ``benchmarks/conditional.py depth`` (four depths) that spent 14 of the
  first 50 evaluations before any branch was searched, and cmaes at 50 and nelder-mead on depth
  at 50 were worse than the flat workaround (RESULTS.md, branch ``cnm``).
* **Routing.**  A trial (finished or pending, proposed here or not) belongs to the branch whose
  assignment its params hold; its inner sampler is told it with only that branch's parameters
  and with the meta the inner sampler attached (``sampler_meta = {"branch": i, "inner": ...}``).
  A trial that fits no branch (another space's) teaches nothing.

Every inner sampler keeps its own resume-by-replay promise, so the whole does too.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from tansaku._records import FrozenTrial
from tansaku._space import Categorical, Distribution, Float, Int, Space, _same
from tansaku.samplers._base import Proposal, Sampler

__all__ = ["MAX_BRANCHES", "Branches", "branches_of", "split"]

#: a conditional space with more branches than this is searched whole (not split)
MAX_BRANCHES = 64
#: the losing branches' share: each gets ``EXPLORE * sqrt(n) / (B - 1)`` proposals past its probe
EXPLORE = 1.0


def _values(dist: Distribution) -> list[Any] | None:
    if isinstance(dist, (Categorical, Int)):
        return list(dist.values())
    if isinstance(dist, Float) and dist.levels is not None:
        return list(dist.values())
    return None


def branches_of(space: Space) -> list[tuple[dict[str, Any], list[str]]] | None:
    """Every branch of a declared conditional space: (assignment of the structural parameters,
    names of the other parameters active under it), in space order; None when the space has no
    condition, is define-by-run, or has more than :data:`MAX_BRANCHES` branches."""
    if not space.conditional or space.free:
        return None
    parents = space.parents
    assigns: list[dict[str, Any]] = [{}]
    for p in parents:
        values = _values(space[p])
        if values is None:
            return None
        grown: list[dict[str, Any]] = []
        for a in assigns:
            if space.is_active(p, a):
                grown.extend({**a, p: v} for v in values)
            else:
                grown.append(a)
        assigns = grown
        if len(assigns) > MAX_BRANCHES:
            return None
    out = []
    for a in assigns:
        names = [n for n in space if n not in parents and space.is_active(n, a)]
        out.append((a, names))
    return out


def split(owner: Sampler, make: Callable[[int | None, Sequence[str]], Sampler]) -> Branches | None:
    """The branch split of ``owner`` (bound) when its space has branches, else None."""
    if owner._space is None:
        return None
    found = branches_of(owner.space)
    return None if found is None else Branches(owner, found, make)


class Branches:
    """The branch split of one sampler (see the module docstring).  ``make(seed, names)`` builds
    the inner sampler (same class and options) of the branch with these parameters; ``owner``
    gives the binding (space, direction, seed, workers)."""

    def __init__(self, owner: Sampler, branches: list[tuple[dict[str, Any], list[str]]],
                 make: Callable[[int | None, Sequence[str]], Sampler]) -> None:
        self.owner = owner
        self.assigns = [a for a, _ in branches]
        self.spaces = [owner.space.unconditioned(names) for _, names in branches]
        self.inner: list[Sampler | None] = []
        for i, sub in enumerate(self.spaces):
            if not len(sub):
                self.inner.append(None)
                continue
            seed = None if owner.seed is None else int(
                np.random.SeedSequence([owner.seed % 2**63, 17, i]).generate_state(1)[0])
            s = make(seed, list(sub))
            s.bind(sub, direction=owner.direction, seed=seed, n_workers=owner.n_workers)
            self.inner.append(s)
        #: each branch's probe (module docstring): the centre of its sub-space
        self.centres = [sub.from_unit(np.full(len(sub), 0.5)) if len(sub) else {}
                        for sub in self.spaces]
        self.done = [False] * len(self.spaces)
        self.finished = [0] * len(self.spaces)
        self.best = [math.inf] * len(self.spaces)

    def branch(self, params: Mapping[str, Any]) -> int | None:
        """The index of the branch these params belong to, or None."""
        for i, a in enumerate(self.assigns):
            if all(k in params and _same(params[k], v) for k, v in a.items()):
                return i
        return None

    def _inner_trial(self, trial: FrozenTrial, i: int) -> FrozenTrial | None:
        sub = self.spaces[i]
        if not all(n in trial.params for n in sub):
            return None
        meta = trial.sampler_meta
        attrs = dict(trial.system_attrs)
        inner = meta.get("inner") if meta.get("branch") == i else None
        if isinstance(inner, Mapping):
            attrs["sampler"] = dict(inner)
        else:
            attrs.pop("sampler", None)
        return dataclasses.replace(trial, params={n: trial.params[n] for n in sub},
                                   system_attrs=attrs)

    def tell(self, trial: FrozenTrial) -> None:
        if not trial.state.is_finished:
            return
        i = self.branch(trial.params)
        if i is None:
            return
        self.finished[i] += 1
        loss = self.owner.loss(trial)
        if trial.state.name == "COMPLETE" and loss < self.best[i]:
            self.best[i] = loss
        inner, t = self.inner[i], self._inner_trial(trial, i)
        if inner is not None and t is not None:
            inner.tell(t)

    def _choose(self, counts: list[int]) -> int | None:
        """The branch the next proposal serves (module docstring), None when all are done."""
        live = [i for i in range(len(counts)) if not self.done[i]]
        if not live:
            return None
        for i in live:
            if counts[i] == 0:  # its probe
                return i
        live = [i for i in live if self.inner[i] is not None]  # an empty branch is asked once
        if not live:
            return None
        best = min(live, key=lambda i: (self.best[i], i))
        n = sum(counts)
        quota = EXPLORE * math.sqrt(n) / max(1, len(self.spaces) - 1)
        behind = [i for i in live if i != best and counts[i] - 1 < quota]
        if behind:
            return min(behind, key=lambda i: (counts[i], i))
        return best

    def ask(self, pending: Sequence[FrozenTrial]) -> Proposal | None:
        routed: list[list[FrozenTrial]] = [[] for _ in self.spaces]
        counts = list(self.finished)
        for t in pending:
            i = self.branch(t.params)
            if i is None:
                continue
            counts[i] += 1
            it = self._inner_trial(t, i)
            if it is not None:
                routed[i].append(it)
        while True:
            i = self._choose(counts)
            if i is None:
                return None
            inner = self.inner[i]
            if inner is None or counts[i] == 0:
                params = self.owner.space.active({**self.assigns[i], **self.centres[i]})
                return Proposal(params, {"branch": i, "probe": True})
            got = inner.ask(routed[i])
            if got is None:
                self.done[i] = True
                continue
            prop = got if isinstance(got, Proposal) else Proposal(dict(got))
            params = self.owner.space.active({**self.assigns[i], **prop.params})
            return Proposal(params, {"branch": i, "inner": dict(prop.meta)}, prop.system_attrs)
