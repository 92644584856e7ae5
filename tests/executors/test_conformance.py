"""Every executor passes the contract suite of tests/executors/conformance.py."""

from __future__ import annotations

import pytest

from tests.executors.conformance import PARAMS, run_cases


@pytest.mark.parametrize(("name", "kind"), PARAMS)
def test_executor_contract(request, tmp_path, name, kind):
    run_cases(request, tmp_path, name, kind)
