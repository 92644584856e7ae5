"""Bridges to other tools.  Each submodule needs its own optional extra and imports it only when
used: ``tansaku.integration.optuna`` (``pip install 'tansaku[optuna]'``), the pruning callbacks
``.lightgbm``, ``.xgboost``, ``.lightning``, ``.keras``, the scikit-learn search ``.sklearn``
(``TansakuSearchCV``) and the MLflow callback ``.mlflow`` (extras of the same names; see
docs/integrations.md)."""
