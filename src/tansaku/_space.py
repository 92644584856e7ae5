"""Search spaces: ``Float``, ``Int``, ``Categorical`` and the ordered ``Space`` of them.

Every sampler works through one transform to and from the unit cube, defined here:

* continuous floats map linearly (or linearly in ``log``) onto ``[0, 1]``;
* discrete parameters (ints, stepped floats) with ``n`` levels own equal bins in unit space, level
  ``k`` decoded from ``[k/n, (k+1)/n)`` and encoded at the bin centre ``(k + 0.5) / n``; log ints
  own bins of equal width in ``log`` space instead (``[ln(v - 0.5), ln(v + 0.5)]``);
* a categorical with ``k`` choices is one coordinate, choice ``i`` at ``(i + 0.5) / k``.

``from_unit(to_unit(v)) == v`` exactly for every value the space produces (anything ``from_unit``
returned, and every discrete level or choice), so a stored trial re-encodes to the point that
decodes to it; a continuous value the user gave (e.g. an enqueued ``0.1234``) may decode a few
ulps away, when no unit value decodes to it exactly. ``from_unit`` accepts any real number
(values outside ``[0, 1]`` are clipped), so a core can never produce an invalid parameter.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tansaku._errors import ConfigError
from tansaku.algorithms._types import Dim

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "Categorical",
    "Distribution",
    "Float",
    "Int",
    "Space",
    "as_space",
    "space_changes",
    "space_widening",
]

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")  # fullmatch: no trailing newline
_SCALAR_TYPES = (str, int, float, bool, type(None))
#: integers beyond this are not exact as floats, which the unit-cube transform relies on
MAX_INT = 2**53


def _numpy_scalar(x: Any, kinds: str = "if") -> bool:
    """Is ``x`` a numpy integer (``i``), floating (``f``) or bool (``b``) scalar?  Without
    importing numpy: a numpy scalar can only exist once numpy is loaded, and keeping numpy out of
    ``import tansaku`` makes ``tansaku status`` start fast."""
    np = sys.modules.get("numpy")
    if np is None:
        return False
    types = {"i": np.integer, "f": np.floating, "b": np.bool_}
    return isinstance(x, tuple(types[k] for k in kinds))


def _is_real(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    return isinstance(x, (int, float)) or _numpy_scalar(x, "if")


def _finite(x: Any) -> float | None:
    """``float(x)`` for a finite real number (not a bool), else None -- never raises."""
    if not _is_real(x):
        return None
    try:
        v = float(x)
    except (OverflowError, ValueError, TypeError):  # e.g. an int beyond 1e308
        return None
    return v if math.isfinite(v) else None


def _integer(x: Any, *, floats: bool = True) -> int | None:
    """``int(x)`` for an integer (or, with ``floats``, an integral finite float), else None."""
    if isinstance(x, bool) or _numpy_scalar(x, "b"):
        return None
    if isinstance(x, int) or _numpy_scalar(x, "i"):
        return int(x)
    if floats:
        f = _finite(x)
        if f is not None and f.is_integer():
            return int(f)
    return None


def _describe(x: Any) -> str:
    """A short repr for error messages, whatever ``x`` is (even if its repr raises)."""
    try:
        text = repr(x)
    except Exception:
        text = f"<{type(x).__name__} object>"
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _clip01(u: float) -> float:
    if not math.isfinite(u):  # nan -> middle; +-inf -> edges
        return 0.5 if math.isnan(u) else (1.0 if u > 0 else 0.0)
    return 0.0 if u < 0.0 else (1.0 if u > 1.0 else u)


def _bin(u: float, n: int) -> int:
    return min(int(_clip01(u) * n), n - 1)


#: ``when`` as stored: ``((parent, (allowed value, ...)), ...)``, every pair must hold
Condition = tuple[tuple[str, tuple[Any, ...]], ...]
#: the unit coordinate an inactive parameter is encoded at (see :meth:`Space.to_unit`)
INACTIVE_UNIT = 0.5


def _condition(when: Any) -> Condition | None:
    """``when`` normalised: ``{"optimizer": "sgd"}`` or ``{"optimizer": ["sgd", "rmsprop"]}``
    (several parents: all must hold).  The parents themselves are checked by :class:`Space`."""
    if when is None:
        return None
    if not isinstance(when, Mapping) or not when:
        raise ConfigError(
            f"when must be a mapping like {{optimizer: sgd}}, got {_describe(when)}", field="when"
        )
    out: list[tuple[str, tuple[Any, ...]]] = []
    for parent, allowed in plain_mapping(when, "a mapping", field="when").items():
        if not isinstance(parent, str) or not _NAME_RE.fullmatch(parent):
            raise ConfigError(f"expected a parameter name, got {_describe(parent)}", field="when")
        values = list(allowed) if isinstance(allowed, (list, tuple)) else [allowed]
        if not values:
            raise ConfigError("needs at least one allowed value", field=f"when.{parent}")
        for v in values:
            if not isinstance(v, _SCALAR_TYPES) and not _numpy_scalar(v, "if"):
                raise ConfigError(
                    f"allowed values must be strings, numbers, booleans or null, got {_describe(v)}",
                    field=f"when.{parent}",
                )
        out.append((parent, tuple(v.item() if _numpy_scalar(v, "if") else v for v in values)))
    return tuple(out)


def _with_when(d: dict[str, Any], when: Condition | None) -> dict[str, Any]:
    if when:
        d["when"] = {parent: list(values) for parent, values in when}
    return d


def _with_default(d: dict[str, Any], default: Any) -> dict[str, Any]:
    if default is not None:
        d["default"] = default
    return d


def _default(dist: Any, default: Any) -> Any:
    """``default`` checked against the distribution: the value a trial that predates the
    parameter is taken to have had (see ``docs/warm_start.md``)."""
    if default is None:
        return None
    try:
        return dist.validate(default)
    except ConfigError as e:
        raise ConfigError(e.reason, field="default") from None


@dataclass(frozen=True, init=False)
class Float:
    """A real parameter in ``[low, high]``; ``log=True`` searches on a log scale; ``step`` makes it
    discrete (``low, low + step, ..., high``)."""

    low: float
    high: float
    log: bool = False
    step: float | None = None
    when: Condition | None = None
    default: float | None = None

    def __init__(
        self,
        low: float,
        high: float,
        *,
        log: bool = False,
        step: float | None = None,
        when: Mapping[str, Any] | None = None,
        default: float | None = None,
    ) -> None:
        flow, fhigh = _finite(low), _finite(high)
        if flow is None:
            raise ConfigError(f"low must be a finite number, got {_describe(low)}", field="low")
        if fhigh is None:
            raise ConfigError(f"high must be a finite number, got {_describe(high)}", field="high")
        low, high = flow, fhigh
        if not isinstance(log, bool):
            raise ConfigError(f"log must be true or false, got {_describe(log)}", field="log")
        if low >= high:
            raise ConfigError(f"low must be < high, got low={low:g} high={high:g}", field="low")
        if log and low <= 0:
            raise ConfigError(f"log=True needs low > 0, got low={low:g}", field="low")
        if not math.isfinite(high - low):
            raise ConfigError(
                f"the range [{low:g}, {high:g}] is too wide for a float", field="high"
            )
        if step is not None:
            if log:
                raise ConfigError("step cannot be combined with log=True", field="step")
            fstep = _finite(step)
            if fstep is None or fstep <= 0:
                raise ConfigError(
                    f"step must be a positive number, got {_describe(step)}", field="step"
                )
            step = fstep
            n = (high - low) / step
            if not n < MAX_INT:
                raise ConfigError(
                    f"step={step:g} makes more than 2**53 levels in [{low:g}, {high:g}]",
                    field="step",
                )
            # tolerate float noise: 1e-9 relative, plus the rounding error of high - low itself
            tol = 1e-9 * max(1.0, n) + 8 * (abs(low) + abs(high)) * 2.220446049250313e-16 / step
            if abs(n - round(n)) > tol:
                raise ConfigError(
                    f"step={step:g} does not divide the range [{low:g}, {high:g}]", field="step"
                )
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "log", log)
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "when", _condition(when))
        object.__setattr__(self, "default", _default(self, default))

    # -- discrete structure -------------------------------------------------------------------
    @property
    def levels(self) -> int | None:
        """Number of distinct values, or None when continuous."""
        if self.step is None:
            return None
        return round((self.high - self.low) / self.step) + 1

    def values(self) -> list[float]:
        """All values of a stepped float (for grids)."""
        n = self.levels
        if n is None:
            raise ConfigError("a continuous Float has no finite list of values; give it a step")
        return [self._level(k) for k in range(n)]

    def _level(self, k: int) -> float:
        assert self.step is not None
        if k <= 0:
            return self.low
        if k >= (self.levels or 1) - 1:
            return self.high
        # 15 significant digits: 0.1 + 3 * 0.2 is 0.7, not 0.7000000000000001
        return min(self.high, float(f"{self.low + k * self.step:.15g}"))

    @property
    def dim(self) -> Dim:
        n = self.levels
        return Dim("continuous") if n is None else Dim("discrete", n)

    # -- checks and transforms ----------------------------------------------------------------
    def validate(self, value: Any) -> float:
        fv = _finite(value)
        if fv is None:
            raise ConfigError(f"expected a finite number, got {_describe(value)}")
        v = fv
        tol = 1e-12 * max(1.0, abs(self.low), abs(self.high))
        if v < self.low - tol or v > self.high + tol:
            raise ConfigError(f"expected a value in [{self.low:g}, {self.high:g}], got {v:g}")
        v = min(max(v, self.low), self.high)
        if self.step is not None:
            k = (v - self.low) / self.step
            if abs(k - round(k)) > 1e-6 + 1e-14 * (abs(self.low) + abs(v)) / self.step:
                raise ConfigError(
                    f"expected a multiple of step={self.step:g} from {self.low:g}, got {v:g}"
                )
            v = self._level(round(k))
        return v

    def to_unit(self, value: Any) -> float:
        v = float(value)
        if self.step is not None:
            n = self.levels
            assert n is not None
            k = min(max(round((v - self.low) / self.step), 0), n - 1)
            return (k + 0.5) / n
        if self.log:
            a, b = math.log(self.low), math.log(self.high)
            u = _clip01((math.log(max(v, self.low)) - a) / (b - a))
        else:
            u = _clip01((v - self.low) / (self.high - self.low))
        return self._exact_unit(u, v)

    def _exact_unit(self, u: float, v: float) -> float:
        """``u`` moved by a few ulps so that ``from_unit(u) == v`` when some unit value decodes to
        ``v`` exactly (every value ``from_unit`` produced does); else ``u`` unchanged.

        ``to_unit`` rounds twice (log/divide) and ``from_unit`` again (multiply/exp), so the plain
        inverse can land one decoded ulp off; ``from_unit`` is monotone, so a bracketing search
        over the neighbouring floats finds the exact preimage, in a handful of steps."""
        got = self.from_unit(u)
        if got == v:
            return u
        up = got < v
        lo = hi = u
        gap = 0.0
        for _ in range(1100):  # widen: 1, 2, 4, ... ulps until the decoded value crosses v
            gap = max(math.ulp(u), 2 * gap)
            edge = min(1.0, u + gap) if up else max(0.0, u - gap)
            crossed = self.from_unit(edge) >= v if up else self.from_unit(edge) <= v
            if crossed:
                lo, hi = (u, edge) if up else (edge, u)
                break
            if edge in (0.0, 1.0):
                return u
        else:
            return u
        for _ in range(128):  # bisect [lo, hi]: from_unit(lo) < v <= from_unit(hi) (up) or mirror
            mid = lo + (hi - lo) / 2
            if mid in (lo, hi):
                break
            if (self.from_unit(mid) < v) if up else (self.from_unit(mid) <= v):
                lo = mid
            else:
                hi = mid
        for cand in (hi, lo) if up else (lo, hi):
            if self.from_unit(cand) == v:
                return cand
        return u

    def from_unit(self, u: float) -> float:
        if self.step is not None:
            n = self.levels
            assert n is not None
            return self._level(_bin(u, n))
        u = _clip01(float(u))
        if self.log:
            a, b = math.log(self.low), math.log(self.high)
            v = math.exp(a + u * (b - a))
        else:
            v = self.low + u * (self.high - self.low)
        return min(max(v, self.low), self.high)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "float", "low": self.low, "high": self.high}
        if self.log:
            d["log"] = True
        if self.step is not None:
            d["step"] = self.step
        return _with_default(_with_when(d, self.when), self.default)


@dataclass(frozen=True, init=False)
class Int:
    """An integer parameter in ``[low, high]`` (both included); ``log=True`` for scale-like ints
    (hidden units, batch sizes); ``step`` for every ``step``-th integer from ``low``."""

    low: int
    high: int
    log: bool = False
    step: int = 1
    when: Condition | None = None
    default: int | None = None

    def __init__(
        self,
        low: int,
        high: int,
        *,
        log: bool = False,
        step: int = 1,
        when: Mapping[str, Any] | None = None,
        default: int | None = None,
    ) -> None:
        for name, v in (("low", low), ("high", high)):
            iv = _integer(v)
            if iv is None:
                raise ConfigError(f"{name} must be an integer, got {_describe(v)}", field=name)
            if abs(iv) > MAX_INT:
                raise ConfigError(f"{name} must be within +-2**53, got {_describe(v)}", field=name)
        low, high = int(low), int(high)
        if not isinstance(log, bool):
            raise ConfigError(f"log must be true or false, got {_describe(log)}", field="log")
        if low >= high:
            raise ConfigError(f"low must be < high, got low={low} high={high}", field="low")
        if log and low <= 0:
            raise ConfigError(f"log=True needs low >= 1, got low={low}", field="low")
        istep = _integer(step, floats=False)
        if istep is None or istep < 1:
            raise ConfigError(
                f"step must be a positive integer, got {_describe(step)}", field="step"
            )
        step = istep
        if log and step != 1:
            raise ConfigError("step cannot be combined with log=True", field="step")
        if (high - low) % step:
            raise ConfigError(
                f"step={step} does not divide the range [{low}, {high}]", field="step"
            )
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "log", log)
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "when", _condition(when))
        object.__setattr__(self, "default", _default(self, default))

    @property
    def levels(self) -> int:
        return (self.high - self.low) // self.step + 1

    def values(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))

    @property
    def dim(self) -> Dim:
        return Dim("discrete", self.levels)

    def validate(self, value: Any) -> int:
        iv = _integer(value)
        if iv is None:
            raise ConfigError(f"expected an integer, got {_describe(value)}")
        v = iv
        if v < self.low or v > self.high:
            raise ConfigError(f"expected an integer in [{self.low}, {self.high}], got {v}")
        if (v - self.low) % self.step:
            raise ConfigError(f"expected low + k*step (low={self.low}, step={self.step}), got {v}")
        return v

    def _log_edges(self) -> tuple[float, float]:
        return math.log(self.low - 0.5), math.log(self.high + 0.5)

    def to_unit(self, value: Any) -> float:
        v = min(max(round(float(value)), self.low), self.high)
        if self.log:
            a, b = self._log_edges()
            return (math.log(v) - a) / (b - a)
        return ((v - self.low) // self.step + 0.5) / self.levels

    def from_unit(self, u: float) -> int:
        if self.log:
            a, b = self._log_edges()
            v = round(math.exp(a + _clip01(float(u)) * (b - a)))
            return min(max(v, self.low), self.high)
        return self.low + self.step * _bin(u, self.levels)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "int", "low": self.low, "high": self.high}
        if self.log:
            d["log"] = True
        if self.step != 1:
            d["step"] = self.step
        return _with_default(_with_when(d, self.when), self.default)


@dataclass(frozen=True, init=False)
class Categorical:
    """One of a list of choices (strings, numbers, booleans or null); unordered."""

    choices: tuple[Any, ...] = field(default=())
    when: Condition | None = None
    default: Any = None

    def __init__(
        self,
        choices: Iterable[Any],
        *,
        when: Mapping[str, Any] | None = None,
        default: Any = None,
    ) -> None:
        if isinstance(choices, (str, bytes, Mapping)) or not isinstance(choices, Iterable):
            raise ConfigError(f"choices must be a list, got {_describe(choices)}", field="choices")
        if isinstance(choices, AbstractSet):  # iteration order changes between processes
            raise ConfigError(
                "choices must be a list, not a set (a set has no stable order, so a resumed "
                "study would decode its trials to other choices)",
                field="choices",
            )
        try:
            items = tuple(choices)
        except Exception:
            raise ConfigError(
                f"choices must be a list, got {_describe(choices)}", field="choices"
            ) from None
        if not items:
            raise ConfigError("choices must not be empty", field="choices")
        seen: set[tuple[str, Any]] = set()
        for c in items:
            if not isinstance(c, _SCALAR_TYPES) and not _numpy_scalar(c, "if"):
                raise ConfigError(
                    f"each choice must be a string, number, boolean or null, got {_describe(c)}",
                    field="choices",
                )
            if (isinstance(c, float) or _numpy_scalar(c, "f")) and not math.isfinite(c):
                raise ConfigError(f"choices must be finite, got {c!r}", field="choices")
            key = (type(c).__name__, c)
            if key in seen:
                raise ConfigError(
                    f"choices must be unique, {_describe(c)} appears twice", field="choices"
                )
            seen.add(key)
        items = tuple(c.item() if _numpy_scalar(c, "if") else c for c in items)
        object.__setattr__(self, "choices", items)
        object.__setattr__(self, "when", _condition(when))
        object.__setattr__(self, "default", _default(self, default))

    @property
    def levels(self) -> int:
        return len(self.choices)

    def values(self) -> list[Any]:
        return list(self.choices)

    @property
    def dim(self) -> Dim:
        return Dim("categorical", len(self.choices))

    def index(self, value: Any) -> int:
        if _numpy_scalar(value, "if"):
            value = value.item()
        if not isinstance(value, _SCALAR_TYPES):  # arrays, containers, objects: never a choice
            raise ConfigError(
                f"expected one of {_describe(list(self.choices))}, got {_describe(value)}"
            )
        for i, c in enumerate(self.choices):
            if c == value and type(c) is type(value):
                return i
        for i, c in enumerate(self.choices):  # 1 == 1.0, but never True == 1
            if c == value and not isinstance(value, bool) and not isinstance(c, bool):
                return i
        raise ConfigError(
            f"expected one of {_describe(list(self.choices))}, got {_describe(value)}"
        )

    def validate(self, value: Any) -> Any:
        return self.choices[self.index(value)]

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.choices)

    def from_unit(self, u: float) -> Any:
        return self.choices[_bin(u, len(self.choices))]

    def to_dict(self) -> dict[str, Any]:
        d = {"type": "categorical", "choices": list(self.choices)}
        return _with_default(_with_when(d, self.when), self.default)


Distribution = Float | Int | Categorical


def plain_mapping(d: Any, what: str, *, field: str | None) -> dict[Any, Any]:
    """A user's mapping copied into a dict (ConfigError if it is not one, or cannot be read)."""
    if not isinstance(d, Mapping):
        raise ConfigError(f"expected {what}, got {_describe(d)}", field=field)
    try:
        return dict(d.items())
    except Exception:
        raise ConfigError(
            f"expected {what}, got an unreadable {type(d).__name__}", field=field
        ) from None


def distribution_from_dict(d: Mapping[str, Any], *, field: str = "") -> Distribution:
    """Build a distribution from its config/JSON form, e.g. ``{type: float, low: 0, high: 1}``."""
    prefix = f"{field}." if field else ""
    d = plain_mapping(d, "a mapping like {type: float, low: 0, high: 1}", field=field or None)
    kind = d.get("type")
    allowed: dict[str, tuple[str, ...]] = {
        "float": ("type", "low", "high", "log", "step", "when", "default"),
        "int": ("type", "low", "high", "log", "step", "when", "default"),
        "categorical": ("type", "choices", "when", "default"),
    }
    if not isinstance(kind, str) or kind not in allowed:
        raise ConfigError(
            f"type must be one of float, int, categorical, got {_describe(kind)}",
            field=prefix + "type",
        )
    for key in d:
        if key not in allowed[kind]:
            raise ConfigError(
                f"unknown key for a {kind} parameter (allowed: {', '.join(allowed[kind][1:])})",
                field=prefix + str(key),
            )
    try:
        if kind == "categorical":
            if "choices" not in d:
                raise ConfigError("is required", field="choices")
            return Categorical(d["choices"], when=d.get("when"), default=d.get("default"))
        for key in ("low", "high"):
            if key not in d:
                raise ConfigError("is required", field=key)
        kwargs: dict[str, Any] = {
            "log": d.get("log", False), "when": d.get("when"), "default": d.get("default"),
        }
        if d.get("step") is not None:
            kwargs["step"] = d["step"]
        if kind == "float":
            return Float(d["low"], d["high"], **kwargs)
        return Int(d["low"], d["high"], **kwargs)
    except ConfigError as e:
        raise ConfigError(e.reason, field=prefix + (e.field or "")) from None


class Space(Mapping[str, Distribution]):
    """An ordered, immutable mapping of parameter names to distributions."""

    __slots__ = ("_allowed", "_dists", "_free", "_names")

    def __init__(
        self, params: Mapping[str, Distribution] | None = None, **kwargs: Distribution
    ) -> None:
        items: dict[str, Distribution] = {}
        if params is not None:
            items.update(plain_mapping(params, "a mapping of names to parameters", field="space"))
        items.update(kwargs)
        if not items:
            raise ConfigError("the search space has no parameters", field="space")
        self._build(items)

    @classmethod
    def empty(cls) -> Space:
        """The space of a study declared without parameters (define-by-run only)."""
        out = cls.__new__(cls)
        out._dists, out._names, out._allowed, out._free = {}, (), {}, frozenset()
        return out

    def learned(self, extra: Mapping[str, Distribution]) -> Space:
        """This (declared) space plus the define-by-run parameters ``extra`` (learned from
        ``trial.suggest_*`` calls, in the order they were first seen), which are *free*: active
        in a trial exactly when the trial holds them (see docs/define-by-run.md)."""
        if not extra:
            return self
        out = type(self).__new__(type(self))
        items = {**self._dists, **{n: d for n, d in extra.items() if n not in self._dists}}
        out._build(items, free=frozenset(n for n in extra if n not in self._dists))
        return out

    def _build(self, items: dict[str, Distribution], free: frozenset[str] = frozenset()) -> None:
        for name, dist in items.items():
            if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
                raise ConfigError(
                    "parameter names must start with a letter or _ and contain only letters, digits, "
                    f"'_', '-', '.', got {_describe(name)}",
                    field="space",
                )
            if isinstance(dist, Mapping):
                items[name] = distribution_from_dict(dist, field=f"space.{name}")
            elif not isinstance(dist, (Float, Int, Categorical)):
                raise ConfigError(
                    f"expected tk.Float, tk.Int or tk.Categorical, got {_describe(dist)}",
                    field=f"space.{name}",
                )
        self._dists: dict[str, Distribution] = items
        self._names: tuple[str, ...] = tuple(items)
        self._allowed: dict[str, tuple[tuple[str, tuple[Any, ...]], ...]] = _check_conditions(items)
        #: define-by-run parameters: active in a trial exactly when it holds them
        self._free: frozenset[str] = free

    # Mapping protocol
    def __getitem__(self, name: str) -> Distribution:
        return self._dists[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Space):
            return NotImplemented
        return (
            self._names == other._names
            and self._free == other._free
            and all(self._dists[n] == other._dists[n] for n in self._names)
        )

    def __hash__(self) -> int:
        return hash((tuple(self._dists.items()), self._free))

    def __repr__(self) -> str:
        inner = ", ".join(f"{n!r}: {d!r}" for n, d in self._dists.items())
        return f"Space({{{inner}}})"

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    @property
    def conditional(self) -> bool:
        """True when some parameter may be inactive: it has a ``when`` condition, or it is a
        define-by-run parameter (:attr:`free`)."""
        return bool(self._allowed) or bool(self._free)

    @property
    def parents(self) -> tuple[str, ...]:
        """The *structural* parameters: those some ``when`` names, in space order (empty when
        nothing is conditional).  Their values decide which other parameters exist."""
        named = {p for conds in self._allowed.values() for p, _ in conds}
        return tuple(n for n in self._names if n in named)

    def unconditioned(self, names: Sequence[str]) -> Space:
        """The parameters ``names`` as a space of their own, in that order, with their ``when``
        conditions dropped (each is always active there)."""
        dists: dict[str, Distribution] = {}
        for n in names:
            d = self[n].to_dict()
            d.pop("when", None)
            dists[n] = Space.from_dict({n: d})[n]
        return Space(dists)

    @property
    def free(self) -> frozenset[str]:
        """The define-by-run parameters (see :meth:`learned`); empty for a declared space."""
        return self._free

    def is_active(self, name: str, params: Mapping[str, Any]) -> bool:
        """Whether ``name`` is active given the (active) ``params`` of a trial: every parent of
        its ``when`` is itself active, present in ``params`` and set to an allowed value; a
        define-by-run parameter is active exactly when ``params`` holds it."""
        if name in self._free:
            return name in params
        for parent, allowed in self._allowed.get(name, ()):
            if parent not in params or not self.is_active(parent, params):
                return False
            if not any(_same(params[parent], a) for a in allowed):
                return False
        return True

    def active(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` without the parameters that are inactive (or unknown), in space order."""
        return {n: params[n] for n in self._names if n in params and self.is_active(n, params)}

    @property
    def dims(self) -> list[Dim]:
        """How each unit-cube coordinate decodes, for algorithm cores."""
        return [d.dim for d in self._dists.values()]

    # transforms
    def to_unit(self, params: Mapping[str, Any]) -> np.ndarray:
        """The unit point of a trial's params.  An active parameter missing from ``params`` is a
        KeyError; an inactive one (whether given or not) is encoded at ``INACTIVE_UNIT`` (0.5),
        so samplers that model the whole cube see a constant there, which leaves the active
        coordinates' values untouched (see docs/conditional.md)."""
        import numpy as np

        if not self.conditional:
            return np.array([d.to_unit(params[n]) for n, d in self._dists.items()], dtype=float)
        return np.array(
            [
                d.to_unit(params[n]) if self.is_active(n, params) else INACTIVE_UNIT
                for n, d in self._dists.items()
            ],
            dtype=float,
        )

    def from_unit(self, u: Sequence[float] | np.ndarray) -> dict[str, Any]:
        """Decode a unit point; only the parameters active at that point are returned (an
        inactive parameter's coordinate is ignored)."""
        if len(u) != len(self._names):
            raise ValueError(f"expected a point with {len(self._names)} coordinates, got {len(u)}")
        out = {n: d.from_unit(float(x)) for (n, d), x in zip(self._dists.items(), u)}
        if not self._allowed:
            return out
        active: dict[str, Any] = {}
        for n in self._names:  # parents come first, so ``active`` holds them already
            # a define-by-run parameter is always proposed: the trial uses it if it asks for it
            if n in self._free or self.is_active(n, active | {n: out[n]}):
                active[n] = out[n]
        return active

    def canonical(self, u: np.ndarray) -> np.ndarray:
        """``u`` with the coordinates of the parameters inactive at it set to ``INACTIVE_UNIT``:
        two points decode to the same params only if their canonical points agree on the
        active coordinates' bins (``u`` itself when nothing is conditional)."""
        if not self._allowed:
            return u
        import numpy as np

        active = self.from_unit(u)
        out = np.array(u, dtype=float)
        for i, n in enumerate(self._names):
            if n not in active:
                out[i] = INACTIVE_UNIT
        return out

    def snap(self, u: Sequence[float] | np.ndarray) -> np.ndarray:
        """The unit point that ``u`` actually decodes to (discrete dims moved to their bin)."""
        return self.to_unit(self.from_unit(u))

    def validate_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Check a full parameter dict (e.g. for ``enqueue``); returns it normalised."""
        params = plain_mapping(params, "params as a mapping of names to values", field="params")
        extra = [str(n) for n in params if n not in self._dists]
        if extra:
            raise ConfigError(f"unknown parameter(s): {', '.join(extra)}", field="params")
        out: dict[str, Any] = {}
        missing: list[str] = []
        for n, d in self._dists.items():
            if n in self._free and n not in params:
                continue  # a define-by-run parameter this trial did not use
            if self._allowed.get(n) and not self.is_active(n, out):
                if n in params:
                    raise ConfigError(
                        f"is inactive here ({self.describe_condition(n)} does not hold); "
                        "leave it out",
                        field=f"params.{n}",
                    )
                continue
            if n not in params:
                missing.append(n)
                continue
            try:
                out[n] = d.validate(params[n])
            except ConfigError as e:
                raise ConfigError(e.reason, field=f"params.{n}") from None
        if missing:
            raise ConfigError(f"missing parameter(s): {', '.join(missing)}", field="params")
        return out

    def split_enqueued(self, params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(known, unknown)``: enqueued ``params`` split into the names this space holds
        (for :meth:`validate_params`) and the others, which a define-by-run objective may
        suggest later (``Study.enqueue``).  An unknown name must be a valid parameter name and
        its value a JSON scalar (string, finite number, boolean or None): a ConfigError naming
        ``params.<name>`` otherwise.  The values are checked against a distribution only when
        the trial suggests the name."""
        params = plain_mapping(params, "params as a mapping of names to values", field="params")
        known: dict[str, Any] = {}
        unknown: dict[str, Any] = {}
        for n, v in params.items():
            if n in self._dists:
                known[n] = v
                continue
            if not isinstance(n, str) or not _NAME_RE.fullmatch(n):
                raise ConfigError(
                    "parameter names must start with a letter or _ and contain only letters, "
                    f"digits, '_', '-', '.', got {_describe(n)}",
                    field="params",
                )
            ok = v is None or isinstance(v, (str, bool, int)) or (
                isinstance(v, float) and math.isfinite(v)
            )
            if not ok:
                raise ConfigError(
                    f"expected a string, a finite number, a boolean or null, got {_describe(v)}",
                    field=f"params.{n}",
                )
            unknown[n] = v
        return known, unknown

    def describe_condition(self, name: str) -> str:
        """``optimizer in ['sgd', 'rmsprop']`` for a conditional parameter ('' otherwise)."""
        return " and ".join(
            f"{p} = {_shown(a[0])}" if len(a) == 1 else f"{p} in {list(a)!r}"
            for p, a in self._allowed.get(name, ())
        )

    # serialisation
    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The JSON form stored with a study; ``when`` appears only on conditional parameters,
        so a flat space stores exactly what it did before conditions existed."""
        return {n: d.to_dict() for n, d in self._dists.items()}

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, field: str = "space", allow_empty: bool = False
    ) -> Space:
        """The space of its JSON form; ``allow_empty``: ``{}`` is :meth:`empty` (as stored for a
        define-by-run study), else an error."""
        data = plain_mapping(data, "a mapping of parameter names", field=field)
        if not data and allow_empty:
            return cls.empty()
        if not data:
            raise ConfigError("the search space has no parameters", field=field)
        dists: dict[str, Distribution] = {}
        for name, spec in data.items():
            if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
                raise ConfigError(
                    "parameter names must start with a letter or _ and contain only letters, digits, "
                    f"'_', '-', '.', got {_describe(name)}",
                    field=field,
                )
            dists[name] = distribution_from_dict(spec, field=f"{field}.{name}")
        return cls(dists)


def _same(value: Any, allowed: Any) -> bool:
    """``value == allowed`` as a choice compares: ``1 == 1.0`` but never ``True == 1``."""
    if isinstance(value, bool) or isinstance(allowed, bool):
        return type(value) is type(allowed) and value == allowed
    try:
        return bool(value == allowed)
    except Exception:
        return False


def _ancestors(name: str, items: Mapping[str, Distribution]) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        d = items.get(todo.pop())
        for parent, _ in (d.when or ()) if d is not None else ():
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def _check_conditions(
    items: Mapping[str, Distribution],
) -> dict[str, tuple[tuple[str, tuple[Any, ...]], ...]]:
    """Each conditional parameter's ``when`` checked against its parents and normalised to the
    parents' own values.  A parent must be an earlier parameter that is categorical, an int or a
    stepped float, each allowed value one of its values; a cycle is named as one."""
    order = {n: i for i, n in enumerate(items)}
    out: dict[str, tuple[tuple[str, tuple[Any, ...]], ...]] = {}
    for name, dist in items.items():
        if not dist.when:
            continue
        conds: list[tuple[str, tuple[Any, ...]]] = []
        for parent, allowed in dist.when:
            where = f"space.{name}.when.{parent}"
            if parent not in items:
                raise ConfigError(f"condition on an unknown parameter {parent!r}", field=where)
            if parent == name or name in _ancestors(parent, items):
                raise ConfigError(
                    f"the conditions form a cycle ({name} -> {parent} -> ... -> {name})",
                    field=where,
                )
            if order[parent] > order[name]:
                raise ConfigError(
                    f"{parent!r} is defined after {name!r}; define a parent before the "
                    "parameters conditional on it",
                    field=where,
                )
            pd = items[parent]
            if isinstance(pd, Float) and pd.step is None:
                raise ConfigError(
                    f"{parent!r} is a continuous float; a condition needs a categorical, int or "
                    "stepped float parent",
                    field=where,
                )
            values: list[Any] = []
            for a in allowed:
                try:
                    values.append(pd.validate(a))
                except ConfigError:
                    raise ConfigError(
                        f"{_describe(a)} is not among the values of {parent!r}"
                        + (f" {_describe(list(pd.choices))}" if isinstance(pd, Categorical) else ""),
                        field=where,
                    ) from None
            conds.append((parent, tuple(values)))
        out[name] = tuple(conds)
    return out


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def space_changes(stored: Space, config: Space, *, field: str = "space") -> list[str]:
    """What differs between a study's ``stored`` space and the ``config`` one, one line each:
    ``space.lr.high: stored 0.5, config 1.0``, a parameter added or removed, a changed type, a
    changed order.  Empty when the two are equal."""
    out: list[str] = []
    for name in stored.names:
        if name not in config:
            out.append(f"{field}.{name}: stored, removed from the config")
    for name in config.names:
        if name not in stored:
            out.append(f"{field}.{name}: added in the config (not stored)")
    for name in stored.names:
        if name not in config:
            continue
        old, new = stored[name].to_dict(), config[name].to_dict()
        if old["type"] != new["type"]:
            out.append(f"{field}.{name}.type: stored {old['type']}, config {new['type']}")
            continue
        for key in dict.fromkeys([*old, *new]):
            default = {"log": False, "step": 1 if old["type"] == "int" else None}.get(key)
            a, b = old.get(key, default), new.get(key, default)
            if a == b:
                continue
            was = "not set" if a is None else _shown(a)
            now = "not set" if b is None else _shown(b)
            out.append(f"{field}.{name}.{key}: stored {was}, config {now}")
    if not out and stored.names != config.names:
        out.append(
            f"{field}: parameter order changed (stored {', '.join(stored.names)}; "
            f"config {', '.join(config.names)})"
        )
    return out


def space_widening(
    stored: Space, config: Space, *, field: str = "space"
) -> tuple[list[str], list[str]]:
    """Whether a study's ``stored`` space may become ``config`` on resume: ``(refused, accepted)``,
    one line per change.  The rules (docs/warm_start.md) keep every stored trial valid with its
    values: accepted are a wider bound (a stepped one staying on the stored grid), a new choice,
    a new parameter with a ``default`` (the value the stored trials are taken to have had) and a
    changed default; refused, each named like ``space.lr.high: stored 0.5, config 0.1``, are a
    narrower bound, a removed choice or parameter, a new parameter without a default, a changed
    type, ``log``, ``step`` or ``when``, and a changed order of the stored parameters."""
    refused: list[str] = []
    accepted: list[str] = []
    for name in stored.names:
        if name not in config:
            refused.append(f"{field}.{name}: stored, removed from the config")
    for name in config.names:
        if name in stored:
            continue
        default = config[name].default
        if default is None:
            refused.append(
                f"{field}.{name}: added in the config without a default (the stored trials have "
                "no value for it; give it `default:`)"
            )
        else:
            accepted.append(f"{field}.{name}: added (default {_shown(default)})")
    for name in stored.names:
        if name not in config:
            continue
        old, new, where = stored[name], config[name], f"{field}.{name}"
        if type(old) is not type(new):
            refused.append(
                f"{where}.type: stored {old.to_dict()['type']}, config {new.to_dict()['type']}"
            )
            continue
        a, b = old.to_dict(), new.to_dict()
        for key in ("log", "step", "when"):
            if a.get(key) != b.get(key):
                was = "not set" if a.get(key) is None else _shown(a.get(key))
                now = "not set" if b.get(key) is None else _shown(b.get(key))
                refused.append(f"{where}.{key}: stored {was}, config {now}")
        if a.get("default") != b.get("default"):
            accepted.append(f"{where}.default: {_shown(a.get('default'))} -> {_shown(b.get('default'))}")
        if isinstance(old, Categorical) and isinstance(new, Categorical):
            gone = [c for c in old.choices if not any(_same(c, n) and type(c) is type(n)
                                                       for n in new.choices)]
            added = [c for c in new.choices if not any(_same(c, o) and type(c) is type(o)
                                                        for o in old.choices)]
            if gone:
                refused.append(
                    f"{where}.choices: stored {list(old.choices)!r}, config {list(new.choices)!r} "
                    f"(removes {', '.join(map(_shown, gone))})"
                )
            elif added:
                accepted.append(f"{where}.choices: added {', '.join(map(_shown, added))}")
            continue
        assert isinstance(old, (Float, Int)) and isinstance(new, (Float, Int))
        if new.low > old.low:
            refused.append(f"{where}.low: stored {_shown(old.low)}, config {_shown(new.low)}")
        if new.high < old.high:
            refused.append(f"{where}.high: stored {_shown(old.high)}, config {_shown(new.high)}")
        step = a.get("step")
        if step is not None and a.get("step") == b.get("step") and new.low < old.low:
            k = (old.low - new.low) / step
            if abs(k - round(k)) > 1e-9 * max(1.0, abs(k)):
                refused.append(
                    f"{where}.low: stored {_shown(old.low)}, config {_shown(new.low)} (off the "
                    f"stored grid of step {_shown(step)})"
                )
        for key, was, now in (("low", old.low, new.low), ("high", old.high, new.high)):
            if (now < was) if key == "low" else (now > was):
                accepted.append(f"{where}.{key}: {_shown(was)} -> {_shown(now)}")
    kept = [n for n in config.names if n in stored]
    if not refused and kept != list(stored.names):
        refused.append(
            f"{field}: parameter order changed (stored {', '.join(stored.names)}; "
            f"config {', '.join(config.names)})"
        )
    return refused, accepted


def as_space(space: Space | Mapping[str, Any]) -> Space:
    return space if isinstance(space, Space) else Space(space)
