"""Hyperband (Li et al., JMLR 2018) as brackets of asynchronous successive halving.

Successive halving has to guess how early a curve tells good from bad: a small ``min_resource``
saves more and errs more.  Hyperband hedges by running several brackets at once.  Bracket ``b``
(``b = 0 .. s_max`` with ``s_max = floor(log_eta(max_resource / min_resource))``) is an ASHA whose
first rung is at ``min_resource * eta**b`` and whose last rung is below ``min_resource *
eta**s_max``; bracket ``s_max`` never prunes.  Trials compete only within their bracket.

Each trial belongs to one bracket, chosen from a hash of its number (so every process, and a
resumed study, agrees), with the probabilities of the original Hyperband: bracket ``b`` gets a
share proportional to ``ceil((s_max + 1) / (s + 1)) * eta**s`` with ``s = s_max - b`` halvings,
which spends roughly the same resource on every bracket.
"""

from __future__ import annotations

import hashlib
import math

from tansaku._records import FrozenTrial, TrialState
from tansaku.pruners._asha import SuccessiveHalving, check_resources
from tansaku.pruners._history import HistoryPruner, check_int, signed_curve

__all__ = ["HyperbandPruner", "bracket_weights"]


def bracket_weights(n_brackets: int, eta: int) -> list[int]:
    """Trial share of each bracket (index = first-rung exponent), as in Hyperband."""
    s_max = n_brackets - 1
    return [
        math.ceil((s_max + 1) / (s + 1)) * eta**s for s in (s_max - b for b in range(n_brackets))
    ]


def _mix(number: int) -> int:
    digest = hashlib.blake2b(int(number).to_bytes(8, "little", signed=True), digest_size=8)
    return int.from_bytes(digest.digest(), "little")


class HyperbandPruner(HistoryPruner):
    """Hyperband over ASHA brackets (see the module docstring).

    * ``min_resource`` (default 1), ``reduction_factor`` (eta, default 3).
    * ``max_resource``: the step at which a trial is finished (e.g. the number of epochs), or
      ``"auto"`` (default): the last step of the first trial that completes; nothing is pruned
      before that is known.
    * ``min_trials``: a rung prunes nobody until it holds that many values (default 1).

    :meth:`bracket_of` tells which bracket a trial number belongs to.
    """

    name = "hyperband"

    def __init__(
        self,
        *,
        min_resource: int = 1,
        max_resource: int | str = "auto",
        reduction_factor: int = 3,
        min_trials: int = 1,
    ) -> None:
        check_resources(min_resource, reduction_factor, max_resource, allow_auto=True)
        check_int("min_trials", min_trials, minimum=1)
        self.min_resource = min_resource
        self.max_resource = max_resource
        self.reduction_factor = reduction_factor
        self.min_trials = min_trials
        super().__init__()

    # ------------------------------------------------------------------ brackets
    def _reset(self) -> None:
        self._brackets: list[SuccessiveHalving] = []
        self._cum: list[int] = []
        self._early: list[tuple[int, dict[int, float]]] = []  # finished before max is known
        self._max = None if self.max_resource == "auto" else int(self.max_resource)
        if self._max is not None:
            self._build(self._max)

    def _build(self, max_resource: int) -> None:
        eta, r0 = self.reduction_factor, self.min_resource
        s_max = 0
        while r0 * eta ** (s_max + 1) <= max_resource:
            s_max += 1
        top = r0 * eta**s_max
        self._brackets = [
            SuccessiveHalving(
                min_resource=r0,
                reduction_factor=eta,
                min_early_stopping_rate=b,
                max_resource=min(top, max_resource),
                min_trials=self.min_trials,
            )
            for b in range(s_max + 1)
        ]
        self._cum = []
        total = 0
        for w in bracket_weights(s_max + 1, eta):
            total += w
            self._cum.append(total)
        for number, curve in self._early:
            self._brackets[self.bracket_of(number)].add(number, curve)
        self._early = []

    @property
    def n_brackets(self) -> int:
        """0 until ``max_resource`` is known."""
        return len(self._brackets)

    def bracket_of(self, number: int) -> int:
        """The bracket of trial ``number`` (its first rung is at ``min_resource * eta**b``)."""
        if not self._cum:
            raise ValueError("the brackets are not known before max_resource is")
        h = _mix(number) % self._cum[-1]
        for b, edge in enumerate(self._cum):
            if h < edge:
                return b
        return len(self._cum) - 1  # not reached

    # ------------------------------------------------------------------ pruning
    def _consume(self, t: FrozenTrial) -> None:
        curve = signed_curve(t, self._feed.sign)
        if self._max is None:
            if t.state is TrialState.COMPLETE and t.last_step is not None:
                self._max = max(int(t.last_step), self.min_resource + 1)
                self._build(self._max)
            else:
                self._early.append((t.number, curve))
                return
        self._brackets[self.bracket_of(t.number)].add(t.number, curve)

    def _decide(self, number: int, curve: dict[int, float], step: int) -> bool:
        if not self._brackets:
            return False
        return self._brackets[self.bracket_of(number)].decide(number, curve, step)
