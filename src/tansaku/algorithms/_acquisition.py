"""Acquisition helpers shared by the model-based cores: log expected improvement and candidates.

Expected improvement for minimisation with predictive ``N(mu, sigma^2)`` and incumbent ``best`` is
``sigma * h(z)``, ``z = (best - mu) / sigma``, ``h(z) = phi(z) + z Phi(z)``.  ``h`` underflows for
``z < -38`` and loses every digit well before that, which leaves the optimiser of a plain EI on a
flat zero surface.  :func:`log_h` evaluates ``log h`` stably for every real ``z`` (the idea of
Ament et al. 2023, "Unexpected improvements to expected improvement"):

* ``z > -1``: directly;
* ``-100 <= z <= -1``: ``h(z) = phi(z) (1 - |z| Phi(z)/phi(z))`` with the Mills ratio written
  through ``erfcx`` so nothing underflows;
* below that: the asymptotic series ``h(z) = phi(z) / z^2 (1 - 3/z^2 + 15/z^4 - ...)``, which is
  exact to double precision there (``1 - |z| Phi/phi`` would lose its digits to cancellation).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import erfcx, log_ndtr, ndtr
from scipy.stats import qmc

from tansaku.algorithms._types import Dim

__all__ = ["candidates", "dlog_h", "log_ei", "log_h", "logmeanexp", "mask_seen", "snap"]

_LOG_SQRT_2PI = 0.5 * float(np.log(2.0 * np.pi))
_SQRT_PI_2 = float(np.sqrt(np.pi / 2.0))
_Z_ASYMPTOTE = -100.0


def _series(z2: np.ndarray, coefs: tuple[float, ...]) -> np.ndarray:
    out = np.zeros_like(z2)
    for c in reversed(coefs):
        out = out / z2 + c
    return out


# asymptotic series for z -> -inf (Abramowitz & Stegun 7.1.23 integrated once):
#   h(z)   = phi(z) / z^2 * (1 - 3/z^2 + 15/z^4 - ...)
#   Phi(z) = phi(z) / |z| * (1 - 1/z^2 + 3/z^4 - ...)
_H_SERIES = (1.0, -3.0, 15.0, -105.0, 945.0, -10395.0)
_PHI_SERIES = (1.0, -1.0, 3.0, -15.0, 105.0, -945.0)


def _split(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    hi = z > -1.0
    lo = z < _Z_ASYMPTOTE
    return hi, ~(hi | lo), lo


def log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z Phi(z))``, finite for every finite ``z``."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    hi, mid, lo = _split(z)
    zh = z[hi]
    out[hi] = np.log(np.exp(-0.5 * zh * zh - _LOG_SQRT_2PI) + zh * ndtr(zh))
    zm = -z[mid]  # |z|
    t = zm * _SQRT_PI_2 * erfcx(zm / np.sqrt(2.0))  # = |z| Phi(z) / phi(z) < 1
    out[mid] = -0.5 * zm * zm - _LOG_SQRT_2PI + np.log1p(-t)
    zl = z[lo]
    out[lo] = (-0.5 * zl * zl - _LOG_SQRT_2PI - 2.0 * np.log(-zl)
               + np.log(_series(zl * zl, _H_SERIES)))
    return out


def dlog_h(z: np.ndarray, logh: np.ndarray | None = None) -> np.ndarray:
    """``d log h / dz = Phi(z) / h(z)`` (tends to ``|z|`` for very negative ``z``)."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    hi, mid, lo = _split(z)
    lh = log_h(z[hi]) if logh is None else np.asarray(logh)[hi]
    out[hi] = np.exp(log_ndtr(z[hi]) - lh)
    zm = -z[mid]
    r = _SQRT_PI_2 * erfcx(zm / np.sqrt(2.0))  # Phi(z) / phi(z)
    out[mid] = r / (1.0 - zm * r)
    zl = z[lo]
    z2 = zl * zl
    out[lo] = -zl * _series(z2, _PHI_SERIES) / _series(z2, _H_SERIES)
    return out


def log_ei(mu: np.ndarray, sigma: np.ndarray, best: float | np.ndarray) -> np.ndarray:
    """Log expected improvement below ``best`` for minimisation."""
    sigma = np.maximum(sigma, 1e-300)
    return log_h((best - mu) / sigma) + np.log(sigma)


def logmeanexp(a: np.ndarray, axis: int = -1) -> np.ndarray:
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.mean(np.exp(a - m), axis=axis, keepdims=True)) + m
    return np.squeeze(out, axis=axis)


def snap(x: np.ndarray, dims: Sequence[Dim]) -> np.ndarray:
    """Move discrete and categorical coordinates to the centre of their bin; clip to the cube."""
    x = np.clip(np.array(x, dtype=float, copy=True), 0.0, 1.0)
    for j, dm in enumerate(dims):
        if dm.kind != "continuous" and dm.levels:
            k = dm.levels
            x[..., j] = (np.minimum(np.floor(x[..., j] * k), k - 1) + 0.5) / k
    return x


def candidates(
    dims: Sequence[Dim],
    rng: np.random.Generator,
    *,
    n_sobol: int,
    centres: np.ndarray | None = None,
    n_local: int = 0,
) -> np.ndarray:
    """Snapped candidate points: a scrambled Sobol set plus Gaussian perturbations of ``centres``
    (the best points so far) at a few scales, so the optimum near an incumbent can be resolved."""
    d = len(dims)
    m = max(1, int(np.ceil(np.log2(max(2, n_sobol)))))
    sob = qmc.Sobol(d, scramble=True, seed=rng).random_base2(m)[:n_sobol]
    parts = [sob]
    if centres is not None and len(centres) and n_local > 0:
        centres = np.atleast_2d(centres)
        per = max(1, n_local // len(centres))
        scales = np.array([0.2, 0.05, 0.01])
        for c in centres:
            s = scales[rng.integers(0, scales.size, size=per)][:, None]
            local = c[None, :] + s * rng.standard_normal((per, d))
            # categorical coordinates: resample a few of them uniformly instead of nudging
            for j, dm in enumerate(dims):
                if dm.kind == "categorical":
                    flip = rng.random(per) < 0.2
                    local[flip, j] = rng.random(int(flip.sum()))
                    local[~flip, j] = c[j]
            parts.append(local)
    return snap(np.concatenate(parts, axis=0), dims)


def mask_seen(cand: np.ndarray, seen: np.ndarray, scores: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """``scores`` with ``-inf`` where a candidate repeats an observed or pending point, so a model
    that is (wrongly) sure about a point cannot propose it twice."""
    if len(seen) == 0:
        return scores
    out = scores.copy()
    for i in range(0, len(cand), 256):
        c = cand[i : i + 256]
        d2 = np.sum(c * c, 1)[:, None] + np.sum(seen * seen, 1)[None, :] - 2.0 * c @ seen.T
        out[i : i + 256][np.min(d2, axis=1) < tol] = -np.inf
    return out
