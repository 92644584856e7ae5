"""A small training script to tune: a one-hidden-layer MLP trained with minibatch SGD (numpy only).

The task is synthetic and fixed (``--data-seed``): 20-dimensional inputs labelled into 4 classes
by a random "teacher" network, with 10 % of the labels flipped; 4000 training samples and a large
validation set (20000) so the validation loss is precise.  Each epoch prints a report line that
tansaku parses live::

    tansaku:report step=<epoch> value=<validation loss>

and the last line is the final validation loss (the objective to minimise).  By default
(``--report best``) "validation loss" means that of the checkpoint a training run keeps: the best
epoch so far (early stopping), so a run that starts to overfit is judged by its best weights;
``--report last`` reports the raw loss of each epoch instead.  ``--seed`` (tansaku
passes ``{seed}``) sets the initial weights and the minibatch order, so repeats of one
configuration differ the way real training runs do.  Optionally ``--init DIR`` starts from the
weights another run saved with ``--save DIR`` (warm start from a setup step or an earlier trial).

CPU only: 27 epochs take 0.2 to 1.5 s of CPU depending on the configuration (start-up ~0.1 s).
Set OMP_NUM_THREADS=1: the matrices are too small for threads to help.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys

import numpy as np

N_TRAIN, N_VAL, DIM, CLASSES = 4000, 20000, 20, 4


def make_data(data_seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(data_seed)
    x = rng.standard_normal((N_TRAIN + 2000, DIM))
    w1 = rng.standard_normal((DIM, 32)) / math.sqrt(DIM)
    w2 = rng.standard_normal((32, CLASSES)) * 2.0

    def label(x: np.ndarray) -> np.ndarray:
        y = np.argmax(np.tanh(x @ w1 * 2.0) @ w2, axis=1)
        flip = rng.random(len(y)) < 0.10
        y[flip] = rng.integers(0, CLASSES, int(flip.sum()))
        return y

    y = label(x)
    # more validation samples, drawn after the training set and the teacher so that the size of
    # the validation set changes neither: a large one makes the validation loss a precise measure
    x_more = rng.standard_normal((N_VAL - 2000, DIM))
    x_val = np.concatenate([x[N_TRAIN:], x_more])
    y_val = np.concatenate([y[N_TRAIN:], label(x_more)])
    return x[:N_TRAIN], y[:N_TRAIN], x_val, y_val


def softmax_xent(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))
    p[np.arange(len(y)), y] -= 1.0
    return loss, p / len(y)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=27)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-seed", type=int, default=0)
    ap.add_argument("--init", help="directory with weights.npz to start from")
    ap.add_argument("--save", help="directory to write weights.npz (the kept checkpoint) to")
    ap.add_argument(
        "--report",
        choices=["best", "last"],
        default="best",
        help="report the best validation loss so far (default) or each epoch's",
    )
    ap.add_argument(
        "--cpu-log",
        help="append the CPU seconds this run used to this file when it "
        "ends, also when stopped with SIGTERM (for benchmarks)",
    )
    args = ap.parse_args(argv)
    if args.cpu_log:

        def log_cpu() -> None:
            t = os.times()
            with open(args.cpu_log, "a") as f:
                f.write(f"{t.user + t.system:.4f}\n")

        def on_term(signum: int, frame: object) -> None:
            log_cpu()
            os._exit(128 + signum)

        signal.signal(signal.SIGTERM, on_term)

    xtr, ytr, xva, yva = make_data(args.data_seed)
    rng = np.random.default_rng(args.seed)
    h = args.hidden
    if args.init:
        saved = np.load(os.path.join(args.init, "weights.npz"))
        w1, b1, w2, b2 = (saved[k].copy() for k in ("w1", "b1", "w2", "b2"))
        if w1.shape[1] != h:
            print(f"--init has {w1.shape[1]} hidden units, not {h}", file=sys.stderr)
            return 2
    else:
        w1 = rng.standard_normal((DIM, h)) * math.sqrt(2.0 / DIM)
        b1 = np.zeros(h)
        w2 = rng.standard_normal((h, CLASSES)) * math.sqrt(1.0 / h)
        b2 = np.zeros(CLASSES)
    params = [w1, b1, w2, b2]
    velocity = [np.zeros_like(p) for p in params]
    val_loss = kept_loss = math.inf
    kept = [p.copy() for p in params]
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(N_TRAIN)
        for start in range(0, N_TRAIN, args.batch_size):
            idx = order[start : start + args.batch_size]
            xb, yb = xtr[idx], ytr[idx]
            a = xb @ w1 + b1
            r = np.maximum(a, 0.0)
            _, g = softmax_xent(r @ w2 + b2, yb)
            gw2 = r.T @ g + args.weight_decay * w2
            gb2 = g.sum(axis=0)
            ga = (g @ w2.T) * (a > 0)
            gw1 = xb.T @ ga + args.weight_decay * w1
            gb1 = ga.sum(axis=0)
            for p, v, gp in zip(params, velocity, (gw1, gb1, gw2, gb2)):
                v *= args.momentum
                v -= args.lr * gp
                p += v
        val_loss, _ = softmax_xent(np.maximum(xva @ w1 + b1, 0.0) @ w2 + b2, yva)
        if not math.isfinite(val_loss) or val_loss > 1e3:
            val_loss = 1e3  # diverged: report a large loss rather than nan
        if args.report == "last" or val_loss < kept_loss:
            kept_loss, kept = val_loss, [p.copy() for p in params]
        print(f"tansaku:report step={epoch} value={kept_loss:.6f}", flush=True)
    if args.save:
        os.makedirs(args.save, exist_ok=True)
        np.savez(
            os.path.join(args.save, "weights.npz"), **dict(zip(("w1", "b1", "w2", "b2"), kept))
        )
    print(f"{kept_loss:.6f}")
    if args.cpu_log:
        log_cpu()
    return 0


if __name__ == "__main__":
    sys.exit(main())
