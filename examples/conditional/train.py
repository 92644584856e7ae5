"""Train a small scikit-learn MLP on the bundled digits data set; print the validation error.

Called by study.yaml with only the active parameters, e.g.
``python train.py --solver sgd --lr 0.01 --momentum 0.9 --layers 2 --units1 32 --units2 16``
(``--momentum`` only for sgd, ``--beta1`` only for adam, ``--unitsK`` only for k <= layers).
"""

from __future__ import annotations

import argparse
import warnings


def error(params: dict) -> float:
    """Validation error of an MLPClassifier with these (active) parameters."""
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x / 16.0, y, test_size=0.3, random_state=0)
    sizes = tuple(params[f"units{k}"] for k in range(1, params["layers"] + 1))
    extra = {"momentum": params["momentum"]} if params["solver"] == "sgd" else {"beta_1": params["beta1"]}
    model = MLPClassifier(hidden_layer_sizes=sizes, solver=params["solver"],
                          learning_rate_init=params["lr"], max_iter=40, random_state=0, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    return 1.0 - model.score(x_val, y_val)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--solver", required=True)
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--momentum", type=float)
    ap.add_argument("--beta1", type=float)
    ap.add_argument("--layers", type=int, required=True)
    for k in (1, 2, 3):
        ap.add_argument(f"--units{k}", type=int)
    args = {k: v for k, v in vars(ap.parse_args()).items() if v is not None}
    print(error(args))


if __name__ == "__main__":
    main()
