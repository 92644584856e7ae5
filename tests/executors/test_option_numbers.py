"""Executor number options are checked by the one number rule (``tansaku._check.check_number``):
a one-line ConfigError naming the option, for a bool, a string, nan, zero or a negative number."""

from __future__ import annotations

import math
from typing import Any

import pytest

import tansaku as tk
from tansaku.executors import make_executor


@pytest.mark.parametrize("name", ["slurm", "sge", "pbs", "dask"])
@pytest.mark.parametrize("bad", [0, math.nan, True])
def test_a_bad_interval_is_one_line_naming_it(name: str, bad: Any) -> None:
    if name == "dask":
        pytest.importorskip("dask.distributed")
    option = "prune_wait" if name == "dask" else "poll_interval"
    with pytest.raises(tk.ConfigError) as info:
        make_executor({"name": name, option: bad})
    text = str(info.value)
    assert option in text and "must be a positive number" in text and "\n" not in text
