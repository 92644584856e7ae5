"""Coverage-guided fuzzing (atheris/libFuzzer) of the inputs a user writes: YAML configs, space
definitions and argv templates.  Any exception other than ``tansaku.ConfigError`` (with a one-line
message) is a finding: libFuzzer stops and prints the input.

    python tests/fuzz/atheris_harness.py CORPUS_DIR -runs=20000          # about what CI runs
    python tests/fuzz/atheris_harness.py CORPUS_DIR -max_total_time=600  # a longer session

CORPUS_DIR (created and seeded with valid inputs when empty) keeps what the fuzzer learned.

Run by tests/fuzz/test_atheris.py for a bounded number of iterations in CI.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["tansaku"]):
    import yaml

    from tansaku import Command, ConfigError, Space
    from tansaku.cli._config import parse_config

BASE = Path(tempfile.mkdtemp(prefix="tansaku-atheris-"))
warnings.simplefilter("ignore")  # e.g. re's FutureWarning about fuzzed patterns

#: valid inputs to start from (mode byte + text), so mutations begin deep inside the validators
SEEDS = [
    b"\x00name: s\nn_trials: 5\nn_workers: 2\nsampler: {name: random, seed: 0}\n"
    b"space:\n  lr: {type: float, low: 1.0e-4, high: 0.1, log: true}\n"
    b"  n: {type: int, low: 1, high: 8, step: 1}\n  act: {type: categorical, choices: [a, b]}\n"
    b"command: [python, t.py, '{lr}', '{n}', '{act}']\nresult: {regex: 'loss=(.*)'}\n"
    b"enqueue: [{lr: 0.01, n: 2, act: a}]\ntrial_timeout: 10\n",
    b"\x01lr: {type: float, low: 0.001, high: 1, step: 0.001}\nx: {type: int, low: -3, high: 9}\n",
    b"\x02python\x1ftrain.py\x1f--lr={lr}\x1f{{literal}}",
    b"\x03name\x1fecho\x1f{x}\x1fval=([0-9.]+)",
]


def _parse(doc: object) -> None:
    parse_config(doc, base_dir=BASE)


def _expect_config_error(fn, *args) -> None:
    try:
        fn(*args)
    except ConfigError as e:
        if "\n" in str(e) or not str(e):
            raise AssertionError(f"ConfigError message is not one line: {str(e)!r}") from None


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 3)
    text = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    if mode == 0:  # a whole config file
        try:
            doc = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError):
            return
        _expect_config_error(_parse, doc)
    elif mode == 1:  # a config with a fuzzed space section
        try:
            space = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError):
            return
        _expect_config_error(Space.from_dict, space)
        cfg = {"name": "f", "n_trials": 3, "space": space, "command": ["echo", "{x}"]}
        _expect_config_error(_parse, cfg)
    elif mode == 2:  # argv templates
        argv = text.split("\x1f") if text else []
        _expect_config_error(lambda: Command(argv).check_fields(["x", "lr"]))
    else:  # a config whose command and result come from the input
        parts = text.split("\x1f")
        cfg = {
            "name": parts[0][:40] or "f",
            "n_trials": 2,
            "space": {"x": {"type": "float", "low": 0, "high": 1}},
            "command": parts[1:] or ["echo"],
            "result": {"regex": parts[-1]} if len(parts) > 2 else None,
        }
        _expect_config_error(_parse, cfg)


def main() -> None:
    args = list(sys.argv)
    corpus = [a for a in args[1:] if not a.startswith("-")]
    for d in corpus:  # seed an empty corpus directory
        path = Path(d)
        path.mkdir(parents=True, exist_ok=True)
        if not any(path.iterdir()):
            for i, seed in enumerate(SEEDS):
                (path / f"seed-{i}").write_bytes(seed)
    atheris.Setup(args, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
