"""Sampler names -> classes, imported lazily so ``import tansaku`` stays light.

Config files and ``create_study(sampler="tpe")`` name samplers; options come as keyword arguments
(``{name: nelder-mead, seed: 0, init: lhs}`` -> ``NelderMeadSampler(seed=0, init="lhs")``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tansaku._errors import ConfigError
from tansaku._registry import build, check_options, load_class, split_spec
from tansaku.samplers._base import Sampler

__all__ = ["DEFAULT", "MULTI_OBJECTIVE_DEFAULT", "SAMPLERS", "available_samplers", "make_sampler", "sampler_class"]

#: the sampler used when none is named (config files, ``create_study``, ``load_study``)
DEFAULT = "auto"
#: the sampler of a study with several objectives when none is named
MULTI_OBJECTIVE_DEFAULT = "mo-tpe"

#: registry name -> "module:Class"
SAMPLERS: dict[str, str] = {
    "auto": "tansaku.samplers._auto:AutoSampler",
    "random": "tansaku.samplers._random:RandomSampler",
    "grid": "tansaku.samplers._grid:GridSampler",
    "sobol": "tansaku.samplers._sobol:SobolSampler",
    "nelder-mead": "tansaku.samplers._nelder_mead:NelderMeadSampler",
    "coordinate": "tansaku.samplers._coordinate:CoordinateSampler",
    "one-axis": "tansaku.samplers._one_axis:OneAxisSampler",
    "tpe": "tansaku.samplers._tpe:TPESampler",
    "gp": "tansaku.samplers._gp:GPSampler",
    "dngo": "tansaku.samplers._dngo:DNGOSampler",
    "cmaes": "tansaku.samplers._cmaes:CmaEsSampler",
    "nsga2": "tansaku.samplers._nsga2:NSGA2Sampler",
    "mo-tpe": "tansaku.samplers._motpe:MOTPESampler",
}

_ALIASES = {
    "nelder_mead": "nelder-mead",
    "nm": "nelder-mead",
    "one_axis": "one-axis",
    "cma-es": "cmaes",
    "cma": "cmaes",
    "bo": "gp",
    "motpe": "mo-tpe",
    "mo_tpe": "mo-tpe",
    "nsga-ii": "nsga2",
}


def _canonical(name: str) -> str:
    key = name.strip().lower()
    return _ALIASES.get(key, key)


def available_samplers() -> list[str]:
    """Names whose implementation can be imported in this installation."""
    out = []
    for name in SAMPLERS:
        try:
            sampler_class(name)
        except (ConfigError, ImportError):
            continue
        out.append(name)
    return out


def sampler_class(name: str) -> type[Sampler]:
    if not isinstance(name, str):
        raise ConfigError(f"sampler name must be a string, got {name!r}", field="sampler")
    key = _canonical(name)
    cls = load_class(SAMPLERS, key, name, "sampler")
    if not (isinstance(cls, type) and issubclass(cls, Sampler)):
        raise TypeError(f"{SAMPLERS[key]} is not a Sampler")
    return cls


def make_sampler(
    spec: str | Mapping[str, Any] | Sampler | None, *, default: str = DEFAULT
) -> Sampler:
    """Build a sampler from a name, a ``{name: ..., **options}`` mapping, or pass one through."""
    if isinstance(spec, Sampler):
        return spec
    if spec is None:
        spec = default
    name, options = split_spec(spec, "sampler")
    cls = sampler_class(name)
    check_options(cls, options, "sampler", _canonical(name))
    return build(cls, options, "sampler", errors=(TypeError, ValueError))
