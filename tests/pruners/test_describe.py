"""Every built-in pruner describes itself by its constructor keywords (one rule in
HistoryPruner), so the description rebuilds the same pruner."""

from __future__ import annotations

import inspect

import pytest

from tansaku.pruners import ASHAPruner, HyperbandPruner, MedianPruner, make_pruner


@pytest.mark.parametrize(
    "pruner",
    [
        MedianPruner(n_startup_trials=2, n_warmup_steps=3, interval_steps=2, n_min_trials=4),
        ASHAPruner(min_resource=2, reduction_factor=4, n_rungs=3, max_resource=500, min_trials=2),
        HyperbandPruner(min_resource=2, max_resource=81, reduction_factor=3, min_trials=2),
        HyperbandPruner(),
    ],
)
def test_describe_names_every_option_and_rebuilds(pruner: object) -> None:
    desc = pruner.describe()  # type: ignore[attr-defined]
    keywords = [p for p in inspect.signature(type(pruner).__init__).parameters if p != "self"]
    assert list(desc) == ["name", *keywords]
    assert make_pruner(desc).describe() == desc
