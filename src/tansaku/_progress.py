"""Progress of a running study: a live rich panel on a terminal, plain lines otherwise.

The live panel is redrawn by the coordinator itself (no refresh thread), so worker processes can be
forked safely at any time.  Plain output is throttled (new bests and failures always, other trials
at most once a second) so a 100k-trial run does not flood a log file.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from tansaku._records import FrozenTrial, TrialState

if TYPE_CHECKING:
    from tansaku.study._study import Study

__all__ = ["Progress", "format_duration", "format_params"]


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "?"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_params(params: Any, limit: int = 160) -> str:
    text = ", ".join(
        f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in dict(params).items()
    )
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Progress:
    tick = 0.25  # seconds between redraws of the live panel

    def __init__(
        self,
        *,
        enabled: bool,
        study: Study,
        total: int | None,
        count_study: bool,
        n_workers: int,
        stream: TextIO | None = None,
    ) -> None:
        self.enabled = enabled
        self.study = study
        self.total = total
        self.count_study = count_study
        self.n_workers = n_workers
        self.stream = stream or sys.stderr
        self.live: Any = None
        self.done = self.failed = self.pruned = self.n_running = 0
        self.base_done = 0
        self.best: FrozenTrial | None = None
        self.last_line = 0.0
        self.last_draw = 0.0
        self.events: list[str] = []
        self.t0 = time.monotonic()
        self.final = False

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self.t0 = time.monotonic()
        if not self.enabled:
            return
        c = self.study.counts()
        self.base_done = c.done if self.count_study else 0
        self.best = self.study.storage.best_trial(self.study.study_id, self.study.direction)
        if self.stream.isatty():
            from rich.console import Console
            from rich.live import Live

            self.live = Live(
                self._render(),
                console=Console(file=self.stream),
                auto_refresh=False,
                transient=False,
            )
            self.live.start()
        else:
            resumed = f", resuming with {c.done} done" if c.done else ""
            self._line(f"study {self.study.name}: {c.total} trials stored{resumed}")

    def close(self, reason: str | None) -> None:
        if not self.enabled:
            return
        self.final = True  # no ETA once finished
        if self.count_study:  # other workers' trials count too: the study's own tally
            # the storage went away: keep this worker's own count
            with contextlib.suppress(Exception):
                self.base_done = max(0, self.study.counts().done - self.done)
        if self.live is not None:
            self.live.update(self._render(), refresh=True)
            self.live.stop()
            self.live = None
        self._line(f"finished ({reason or 'done'}): {self._summary()}")

    # ---------------------------------------------------------------- events
    def note(self, text: str) -> None:
        if not self.enabled:
            return
        self.events = ([*self.events, text])[-3:]
        if self.live is None:
            self._line(text)

    def started(self, trial: FrozenTrial) -> None:
        self.n_running += 1

    def finished(self, trial: FrozenTrial) -> None:
        self.n_running = max(0, self.n_running - 1)
        if trial.state is TrialState.FAILED:
            self.failed += 1
        elif trial.state is TrialState.PRUNED:
            self.pruned += 1
            self.done += 1
        else:
            self.done += 1
        if not self.enabled:
            return
        new_best = False
        if len(self._directions()) > 1:
            new_best = trial.is_feasible and self._join_front(trial)
        elif trial.is_feasible and trial.value is not None:
            sign = -1.0 if self.study.direction == "maximize" else 1.0
            if (
                self.best is None
                or self.best.value is None
                or sign * trial.value < sign * self.best.value
            ):
                self.best, new_best = trial, True
        if trial.state is TrialState.FAILED:
            self.events = ([*self.events, f"trial {trial.number} failed: {trial.message}"])[-3:]
        if self.live is None:
            now = time.monotonic()
            if (
                new_best
                or (trial.state is TrialState.FAILED and self.failed <= 20)
                or now - self.last_line >= 1.0
            ):
                self._line(self._trial_line(trial, new_best))

    def refresh(self, running: int) -> None:
        self.n_running = running
        if self.live is not None and time.monotonic() - self.last_draw >= self.tick:
            self.last_draw = time.monotonic()
            self.live.update(self._render(), refresh=True)

    # ---------------------------------------------------------------- text
    def _eta(self) -> float | None:
        if self.total is None or self.done == 0:
            return None
        remaining = self.total - self.base_done - self.done
        return max(0.0, remaining) * (time.monotonic() - self.t0) / self.done

    def _count_text(self) -> str:
        done = self.base_done + self.done
        of = f"/{self.total}" if self.total else ""
        eta = "" if self.final else f", ETA {format_duration(self._eta())}"
        return (
            f"{done}{of} done, {self.n_running} running, {self.failed} failed, {self.pruned} pruned; "
            f"elapsed {format_duration(time.monotonic() - self.t0)}{eta}"
        )

    def _directions(self) -> tuple[str, ...]:
        return tuple(getattr(self.study, "directions", ()) or (self.study.direction,))

    def _join_front(self, trial: FrozenTrial) -> bool:
        """Add a feasible trial of a multi-objective study to the running Pareto front (dropping
        the members it dominates); False when a member dominates it."""
        sign = [-1.0 if d == "maximize" else 1.0 for d in self._directions()]
        new = [s * v for s, v in zip(sign, trial.values or ())]
        front = self.__dict__.setdefault("front", [])

        def loss(t: FrozenTrial) -> list[float]:
            return [s * v for s, v in zip(sign, t.values or ())]

        def dominates(a: list[float], b: list[float]) -> bool:
            return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))

        if any(dominates(loss(t), new) for t in front):
            return False
        front[:] = [t for t in front if not dominates(new, loss(t))] + [trial]
        return True

    def _best_text(self) -> str:
        if len(self._directions()) > 1:
            n = len(self.__dict__.get("front", []))
            return f"Pareto front: {n} trial{'s' if n != 1 else ''}" if n else "front: none yet"
        b = self.best
        if b is None:
            return "best: none yet"
        return f"best {b.value:.6g} (trial {b.number}): {format_params(b.params)}"

    def _summary(self) -> str:
        return f"{self._count_text()}; {self._best_text()}"

    def _trial_line(self, t: FrozenTrial, new_best: bool) -> str:
        done = self.base_done + self.done
        of = f"/{self.total}" if self.total else ""
        if t.values is not None and len(t.values) > 1:
            what = "values=" + ", ".join(f"{v:.6g}" for v in t.values)
        else:
            what = f"value={t.value:.6g}" if t.value is not None else (t.message or t.state.value)
        if t.state is TrialState.COMPLETE and not t.satisfies_constraints:
            what += " (infeasible)"
        star = (" *on the front*" if len(self._directions()) > 1 else " *new best*") if new_best else ""
        return (
            f"[{done}{of}] trial {t.number} {t.state.value} {what}{star} | {self.n_running} running, "
            f"{self.failed} failed | ETA {format_duration(self._eta())}"
        )

    def _line(self, text: str) -> None:
        self.last_line = time.monotonic()
        print(text, file=self.stream, flush=True)

    def _render(self) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.text import Text

        done = self.base_done + self.done
        parts: list[Any] = [Text(f"tansaku · {self.study.name}", style="bold")]
        if self.total:
            parts.append(ProgressBar(total=self.total, completed=min(done, self.total), width=50))
        parts.append(Text(self._count_text()))
        parts.append(Text(self._best_text(), style="green"))
        parts.extend(Text(e, style="yellow") for e in self.events)
        return Group(*parts)
