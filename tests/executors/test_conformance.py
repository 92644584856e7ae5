"""Every executor passes the contract suite of tests/executors/conformance.py."""

from __future__ import annotations

import pytest

from tests.executors.conformance import PARAMS, run_cases
from tests.executors.test_pbs import fake_pbs  # noqa: F401 - the pbs target's fixture


@pytest.mark.parametrize(("name", "kind"), PARAMS)
def test_executor_contract(request, tmp_path, name, kind):
    run_cases(request, tmp_path, name, kind)
