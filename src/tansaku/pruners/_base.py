"""The pruner contract: decide, from intermediate reports, whether a running trial should stop.

The study calls ``should_prune(study, trial)`` on its coordinator thread right after storing a
report of ``trial`` (a :class:`~tansaku.study.FrozenTrial` with ``intermediate`` loaded); a True
answer makes the executor stop the trial (its process group is killed, or its batch job cancelled)
and the trial is stored PRUNED with its last reported value.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tansaku._records import FrozenTrial
    from tansaku.study._study import Study

__all__ = ["NopPruner", "Pruner"]


class Pruner(ABC):
    name = ""

    @abstractmethod
    def should_prune(self, study: Study, trial: FrozenTrial) -> bool: ...

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}


class NopPruner(Pruner):
    """Never prunes."""

    name = "none"

    def should_prune(self, study: Study, trial: FrozenTrial) -> bool:
        return False
