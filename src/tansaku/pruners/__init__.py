"""Pruners: stop unpromising trials early from their intermediate reports."""

from __future__ import annotations

from tansaku.pruners._asha import ASHAPruner
from tansaku.pruners._base import NopPruner, Pruner
from tansaku.pruners._hyperband import HyperbandPruner
from tansaku.pruners._median import MedianPruner
from tansaku.pruners._registry import PRUNERS, make_pruner

__all__ = [
    "PRUNERS",
    "ASHAPruner",
    "HyperbandPruner",
    "MedianPruner",
    "NopPruner",
    "Pruner",
    "make_pruner",
]
