"""Shared pytest wiring. The service fixtures (PostgreSQL, Slurm, SGE, Chromium) and their
skip/fail rule live in tests/services.py; see its docstring."""

import os

from hypothesis import settings

pytest_plugins = ["tests.services"]

# Reproducible property tests in CI (issue 20.20): the default profile derandomizes (the same
# examples every run, so a landing never depends on luck); HYPOTHESIS_PROFILE=fuzz explores with
# random seeds (1000 examples where a test sets no max_examples), for a separate, longer job.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("fuzz", derandomize=False, max_examples=1000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
