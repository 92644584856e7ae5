"""Helpers for testing and benchmarking tansaku and its algorithms."""

from __future__ import annotations

from tansaku.testing import functions

__all__ = ["functions"]
