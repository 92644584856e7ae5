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

__all__ = ["Categorical", "Distribution", "Float", "Int", "Space", "as_space", "space_changes"]

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


@dataclass(frozen=True, init=False)
class Float:
    """A real parameter in ``[low, high]``; ``log=True`` searches on a log scale; ``step`` makes it
    discrete (``low, low + step, ..., high``)."""

    low: float
    high: float
    log: bool = False
    step: float | None = None

    def __init__(
        self, low: float, high: float, *, log: bool = False, step: float | None = None
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
        return d


@dataclass(frozen=True, init=False)
class Int:
    """An integer parameter in ``[low, high]`` (both included); ``log=True`` for scale-like ints
    (hidden units, batch sizes); ``step`` for every ``step``-th integer from ``low``."""

    low: int
    high: int
    log: bool = False
    step: int = 1

    def __init__(self, low: int, high: int, *, log: bool = False, step: int = 1) -> None:
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
        return d


@dataclass(frozen=True, init=False)
class Categorical:
    """One of a list of choices (strings, numbers, booleans or null); unordered."""

    choices: tuple[Any, ...] = field(default=())

    def __init__(self, choices: Iterable[Any]) -> None:
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
        return {"type": "categorical", "choices": list(self.choices)}


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
        "float": ("type", "low", "high", "log", "step"),
        "int": ("type", "low", "high", "log", "step"),
        "categorical": ("type", "choices"),
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
            return Categorical(d["choices"])
        for key in ("low", "high"):
            if key not in d:
                raise ConfigError("is required", field=key)
        kwargs: dict[str, Any] = {"log": d.get("log", False)}
        if d.get("step") is not None:
            kwargs["step"] = d["step"]
        if kind == "float":
            return Float(d["low"], d["high"], **kwargs)
        return Int(d["low"], d["high"], **kwargs)
    except ConfigError as e:
        raise ConfigError(e.reason, field=prefix + (e.field or "")) from None


class Space(Mapping[str, Distribution]):
    """An ordered, immutable mapping of parameter names to distributions."""

    __slots__ = ("_dists", "_names")

    def __init__(
        self, params: Mapping[str, Distribution] | None = None, **kwargs: Distribution
    ) -> None:
        items: dict[str, Distribution] = {}
        if params is not None:
            items.update(plain_mapping(params, "a mapping of names to parameters", field="space"))
        items.update(kwargs)
        if not items:
            raise ConfigError("the search space has no parameters", field="space")
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
        return self._names == other._names and all(
            self._dists[n] == other._dists[n] for n in self._names
        )

    def __hash__(self) -> int:
        return hash(tuple(self._dists.items()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{n!r}: {d!r}" for n, d in self._dists.items())
        return f"Space({{{inner}}})"

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    @property
    def dims(self) -> list[Dim]:
        """How each unit-cube coordinate decodes, for algorithm cores."""
        return [d.dim for d in self._dists.values()]

    # transforms
    def to_unit(self, params: Mapping[str, Any]) -> np.ndarray:
        import numpy as np

        return np.array([d.to_unit(params[n]) for n, d in self._dists.items()], dtype=float)

    def from_unit(self, u: Sequence[float] | np.ndarray) -> dict[str, Any]:
        if len(u) != len(self._names):
            raise ValueError(f"expected a point with {len(self._names)} coordinates, got {len(u)}")
        return {n: d.from_unit(float(x)) for (n, d), x in zip(self._dists.items(), u)}

    def snap(self, u: Sequence[float] | np.ndarray) -> np.ndarray:
        """The unit point that ``u`` actually decodes to (discrete dims moved to their bin)."""
        return self.to_unit(self.from_unit(u))

    def validate_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Check a full parameter dict (e.g. for ``enqueue``); returns it normalised."""
        params = plain_mapping(params, "params as a mapping of names to values", field="params")
        missing = [n for n in self._names if n not in params]
        if missing:
            raise ConfigError(f"missing parameter(s): {', '.join(missing)}", field="params")
        extra = [str(n) for n in params if n not in self._dists]
        if extra:
            raise ConfigError(f"unknown parameter(s): {', '.join(extra)}", field="params")
        out: dict[str, Any] = {}
        for n, d in self._dists.items():
            try:
                out[n] = d.validate(params[n])
            except ConfigError as e:
                raise ConfigError(e.reason, field=f"params.{n}") from None
        return out

    # serialisation
    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {n: d.to_dict() for n, d in self._dists.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, field: str = "space") -> Space:
        data = plain_mapping(data, "a mapping of parameter names", field=field)
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


def as_space(space: Space | Mapping[str, Any]) -> Space:
    return space if isinstance(space, Space) else Space(space)
