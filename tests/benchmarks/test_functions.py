"""The benchmark functions' objectives for tansaku (params) and for define-by-run libraries."""

from __future__ import annotations

from tansaku.testing import functions as F


class _Trial:
    """Answers ``suggest_float`` with the middle of the range and records the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float, float]] = []

    def suggest_float(self, name: str, low: float, high: float) -> float:
        self.calls.append((name, low, high))
        return (low + high) / 2


def test_define_by_run_asks_each_coordinate_on_its_natural_range() -> None:
    f = F.get("branin")
    trial = _Trial()
    value = f.define_by_run()(trial)
    assert trial.calls == [("x0", f.lower[0], f.upper[0]), ("x1", f.lower[1], f.upper[1])]
    assert value == f([(lo + hi) / 2 for lo, hi in zip(f.lower, f.upper)])
