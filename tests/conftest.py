"""Shared pytest wiring. The service fixtures (PostgreSQL, Slurm, SGE, Chromium) and their
skip/fail rule live in tests/services.py; see its docstring."""

pytest_plugins = ["tests.services"]
