"""Bridges to other tools.  Each submodule needs its own optional extra and imports it only when
used: ``tansaku.integration.optuna`` (``pip install 'tansaku[optuna]'``)."""
