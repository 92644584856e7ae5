"""Standard black-box test functions with known optima, for tests and benchmarks.

Each :class:`TestFunction` evaluates on its natural domain (``f(x)``) or on the unit cube
(``f.unit(u)``, what the algorithm cores see), and knows its optimum value so ``regret`` can be
reported.  Constants are the published ones (Dixon & Szegö 1978 for Branin/Hartmann; the usual
domains from the Virtual Library of Simulation Experiments).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "FUNCTIONS",
    "TestFunction",
    "ackley",
    "branin",
    "get",
    "hartmann3",
    "hartmann6",
    "rosenbrock",
    "sphere",
    "styblinski_tang",
]


@dataclass(frozen=True)
class TestFunction:
    name: str
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    optimum: float
    fn: Callable[[np.ndarray], float]

    __test__ = False  # not a pytest class

    @property
    def dim(self) -> int:
        return len(self.lower)

    def __call__(self, x: np.ndarray | list[float]) -> float:
        return float(self.fn(np.asarray(x, dtype=float)))

    def unit(self, u: np.ndarray | list[float]) -> float:
        """Evaluate at the point of the natural domain that ``u in [0, 1]^d`` maps to."""
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        return self(lo + np.clip(np.asarray(u, dtype=float), 0.0, 1.0) * (hi - lo))

    def regret(self, value: float) -> float:
        return float(value) - self.optimum

    def space(self) -> dict[str, object]:
        """A tansaku search space ``{x0: Float(lo, hi), ...}`` over the natural domain."""
        from tansaku._space import Float

        return {f"x{i}": Float(lo, hi) for i, (lo, hi) in enumerate(zip(self.lower, self.upper))}

    def objective(self) -> Callable[[object], float]:
        """An objective ``f(trial)`` reading ``trial.params['x0'...]``."""
        names = [f"x{i}" for i in range(self.dim)]

        def _objective(trial: object) -> float:
            params = trial.params  # type: ignore[attr-defined]
            return self([params[n] for n in names])

        return _objective

    def define_by_run(self) -> Callable[[object], float]:
        """An objective ``f(trial)`` for define-by-run libraries (Optuna): it asks for each
        coordinate with ``trial.suggest_float('x0', lo, hi)``, ..."""
        bounds = [(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(zip(self.lower, self.upper))]

        def _objective(trial: object) -> float:
            suggest = trial.suggest_float  # type: ignore[attr-defined]
            return self([suggest(name, lo, hi) for name, lo, hi in bounds])

        return _objective


def _branin(x: np.ndarray) -> float:
    a, b, c = 1.0, 5.1 / (4 * np.pi**2), 5.0 / np.pi
    r, s, t = 6.0, 10.0, 1.0 / (8 * np.pi)
    return float(a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * np.cos(x[0]) + s)


_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array(
    [[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]]
)
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def _hartmann(a: np.ndarray, p: np.ndarray) -> Callable[[np.ndarray], float]:
    def f(x: np.ndarray) -> float:
        inner = np.sum(a * (x[None, :] - p) ** 2, axis=1)
        return float(-np.sum(_H_ALPHA * np.exp(-inner)))

    return f


def _rosenbrock(x: np.ndarray) -> float:
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


def _styblinski_tang(x: np.ndarray) -> float:
    return float(0.5 * np.sum(x**4 - 16 * x**2 + 5 * x))


def _ackley(x: np.ndarray) -> float:
    d = x.size
    return float(
        -20.0 * np.exp(-0.2 * np.sqrt(np.sum(x**2) / d))
        - np.exp(np.sum(np.cos(2 * np.pi * x)) / d)
        + 20.0
        + np.e
    )


def _sphere(x: np.ndarray) -> float:
    return float(np.sum((x - 0.3) ** 2))


branin = TestFunction("branin", (-5.0, 0.0), (10.0, 15.0), 0.397887357729738, _branin)
hartmann3 = TestFunction(
    "hartmann3", (0.0,) * 3, (1.0,) * 3, -3.86278214782076, _hartmann(_H3_A, _H3_P)
)
hartmann6 = TestFunction(
    "hartmann6", (0.0,) * 6, (1.0,) * 6, -3.32236801141551, _hartmann(_H6_A, _H6_P)
)


def rosenbrock(dim: int = 10) -> TestFunction:
    return TestFunction(f"rosenbrock{dim}", (-5.0,) * dim, (10.0,) * dim, 0.0, _rosenbrock)


def styblinski_tang(dim: int = 10) -> TestFunction:
    return TestFunction(
        f"styblinski_tang{dim}",
        (-5.0,) * dim,
        (5.0,) * dim,
        -39.16616570377142 * dim,
        _styblinski_tang,
    )


def ackley(dim: int = 10) -> TestFunction:
    return TestFunction(f"ackley{dim}", (-32.768,) * dim, (32.768,) * dim, 0.0, _ackley)


def sphere(dim: int = 2) -> TestFunction:
    """A shifted sphere on [-1, 1]^d with its minimum 0 at x = 0.3 (not at the centre)."""
    return TestFunction(f"sphere{dim}", (-1.0,) * dim, (1.0,) * dim, 0.0, _sphere)


FUNCTIONS: dict[str, Callable[[], TestFunction]] = {
    "branin": lambda: branin,
    "hartmann3": lambda: hartmann3,
    "hartmann6": lambda: hartmann6,
    "rosenbrock10": lambda: rosenbrock(10),
    "styblinski_tang10": lambda: styblinski_tang(10),
    "ackley10": lambda: ackley(10),
}


def get(name: str) -> TestFunction:
    try:
        return FUNCTIONS[name]()
    except KeyError:
        raise KeyError(f"unknown test function {name!r}; known: {', '.join(FUNCTIONS)}") from None
