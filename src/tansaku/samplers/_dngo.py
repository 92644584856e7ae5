"""``dngo``: DNGO, Bayesian optimisation with a neural network's adaptive basis (Snoek et al. 2015).

A thin adapter over :class:`tansaku.algorithms._dngo.DNGOOptimizer` (3 x 50 tanh network in numpy,
Bayesian linear regression on its last hidden layer with a quadratic prior mean and evidence-fitted
``alpha``/``beta``, log-EI; cost linear in the number of trials).  Failed trials are not imputed:
they train a feasibility head on the same features, and the acquisition is multiplied by
``P(feasible)``, so the sampler learns to avoid regions where the objective crashes.

Options (keyword-only, as in YAML ``sampler: {name: dngo, seed: 0}``): ``seed``,
``n_startup_trials`` (10), ``n_candidates`` (2048), ``n_fantasies`` (8; 0 = kriging believer),
``consider_pending`` (true), ``finetune_epochs`` (20), ``scratch_epochs`` (300),
``random_features`` (128; 0 = the paper's basis, the network's features only) and
``weight_decays`` ([1e-4, 1e-2, 1e-1]; the network's weight decay is chosen among them by
cross-validation; one value = fixed).

With many workers: past 256 trials the network is fine-tuned once per 2% more trials and the
asks in between refit only the Bayesian regression (pending points as its fantasies), so 256
pending trials and 2,000 finished cost ~0.2 s per ask.

Reproducible with a seed and one worker; a resumed study rebuilds the same network by replay
(checkpoints depend only on the first ``s`` trials and the seed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tansaku._errors import ConfigError
from tansaku.algorithms._dngo import DNGOOptimizer
from tansaku.samplers._model_based import ModelBasedSampler, check_int, check_real

__all__ = ["DNGOSampler"]


class DNGOSampler(ModelBasedSampler):
    """DNGO sampler (registry name ``"dngo"``)."""

    name = "dngo"

    def __init__(
        self,
        *,
        seed: int | None = None,
        n_startup_trials: int = 10,
        n_candidates: int = 2048,
        n_fantasies: int = 8,
        consider_pending: bool = True,
        finetune_epochs: int = 20,
        scratch_epochs: int = 300,
        random_features: int = 128,
        weight_decays: Sequence[float] = (1e-4, 1e-2, 1e-1),
    ) -> None:
        super().__init__(seed=seed, consider_pending=consider_pending)
        self.n_startup_trials = check_int("n_startup_trials", n_startup_trials, low=2)
        self.n_candidates = check_int("n_candidates", n_candidates, low=8, high=1 << 16)
        self.n_fantasies = check_int("n_fantasies", n_fantasies, low=0, high=256)
        self.finetune_epochs = check_int("finetune_epochs", finetune_epochs, low=0, high=10_000)
        self.scratch_epochs = check_int("scratch_epochs", scratch_epochs, low=1, high=100_000)
        self.random_features = check_int("random_features", random_features, low=0, high=4096)
        if isinstance(weight_decays, (str, bytes)) or not isinstance(weight_decays, Sequence) \
                or not 1 <= len(weight_decays) <= 8:
            raise ConfigError(f"must be a list of 1 to 8 numbers, got {weight_decays!r}",
                              field="weight_decays")
        self.weight_decays = tuple(check_real("weight_decays", w, low=0.0, high=100.0)
                                   for w in weight_decays)

    def _make_core(self) -> DNGOOptimizer:
        return DNGOOptimizer(
            self.core_dims(),
            seed=self.seed,
            n_startup=self.n_startup_trials,
            n_candidates=self.n_candidates,
            n_fantasies=self.n_fantasies,
            finetune_epochs=self.finetune_epochs,
            scratch_epochs=self.scratch_epochs,
            random_features=self.random_features,
            weight_decays=self.weight_decays,
        )

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "n_startup_trials": self.n_startup_trials,
            "n_candidates": self.n_candidates,
            "n_fantasies": self.n_fantasies,
            "consider_pending": self.consider_pending,
            "finetune_epochs": self.finetune_epochs,
            "scratch_epochs": self.scratch_epochs,
            "random_features": self.random_features,
            "weight_decays": list(self.weight_decays),
        }
