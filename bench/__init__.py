"""Benchmarks that run EduTrust side by side with a peer and print ratio tables.

Each benchmark module (``bench/crypto.py``, later ``bench/ledger.py``, ``bench/idp.py``)
is registered by name in ``bench/__main__.py`` and exposes one function,
``run(options: Options) -> Report``. This module holds what they share: the run
options, the timing loop, running a peer command, and the table that compares medians.

Method, for every module: ours and the peer run alternately for ``options.rounds``
rounds on the same machine in the same run, each for ``options.seconds``, and the
table reports the median of the rounds and the ratio ours/peer.
"""

from __future__ import annotations

import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class Options:
    """How long to measure: ``rounds`` alternations of ``seconds`` each.

    ``wall_clock`` asks modules that can divide by either to use wall-clock time rather
    than CPU time. ``full`` asks for the long sizes where a module has them (ledger: an
    audit of 10^5 transactions).
    """

    rounds: int = 9
    seconds: int = 1
    quick: bool = False
    wall_clock: bool = False
    full: bool = False


class PeerFailed(Exception):
    """A peer command could not run, exited non-zero, or printed nothing readable."""


def _calls_within(op: Callable[[], object], seconds: float, cpu_time: bool) -> tuple[int, float]:
    """Call ``op`` until ``seconds`` of wall-clock time pass; (calls, time to divide by).

    The clock is read once per batch of about 10 ms, so reading it costs nothing
    measurable even for microsecond operations; a single call longer than ``seconds``
    still counts.
    """
    wall = time.perf_counter
    divisor = time.process_time if cpu_time else wall
    count, batch = 0, 1
    start, spent_from = wall(), divisor()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            op()
        count += batch
        now = wall()
        if now >= deadline:
            return count, divisor() - spent_from
        batch = max(1, int(count / (now - start) * 0.01))


def ops_per_second(op: Callable[[], object], seconds: float, *, warm_up: bool = True,
                   cpu_time: bool = False) -> float:
    """Call ``op`` repeatedly for ``seconds`` of wall-clock time; return calls per second.

    The rate divides by wall-clock time, or with ``cpu_time`` by this process's CPU time
    (what ``openssl speed`` does without ``-elapsed``), which other processes taking
    turns on the cores do not inflate. One untimed call comes first (unless ``warm_up``
    is false), so set-up costs and errors surface before timing.
    """
    if warm_up:
        op()
    count, spent = _calls_within(op, seconds, cpu_time)
    return count / spent


def paired_ops_per_second(ours: Callable[[], object], peer: Callable[[], object],
                          seconds: float, *, slices: int = 10,
                          cpu_time: bool = False) -> tuple[float, float]:
    """Rates of two in-process operations measured in alternating short slices.

    ``seconds`` in total, split into ``slices`` turns each, the order flipping every
    turn; both therefore see the same machine, and load that drifts over seconds
    cancels out of their ratio far better than with back-to-back runs.
    """
    ours()
    peer()
    turn = seconds / (2 * slices)
    ops, counts, spent = (ours, peer), [0, 0], [0.0, 0.0]
    for i in range(slices):
        for side in (0, 1) if i % 2 == 0 else (1, 0):
            count, took = _calls_within(ops[side], turn, cpu_time)
            counts[side] += count
            spent[side] += took
    return counts[0] / spent[0], counts[1] / spent[1]


def run_peer(argv: Sequence[str], *, timeout: float) -> str:
    """Run a peer command and return its standard output; ``PeerFailed`` on any failure.

    The child shares our process group, so Ctrl-C reaches it too; ``subprocess.run``
    kills and reaps it if we are interrupted while waiting.
    """
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                              check=False)
    except FileNotFoundError:
        raise PeerFailed(f"{argv[0]}: command not found") from None
    except subprocess.TimeoutExpired:
        raise PeerFailed(f"{' '.join(argv)}: no answer within {timeout:.0f} s") from None
    if done.returncode == -signal.SIGINT:
        # Ctrl-C reached the child first: stop the whole run, not just this peer.
        raise KeyboardInterrupt
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise PeerFailed(f"{' '.join(argv)} exited with {done.returncode}: {tail}")
    return done.stdout


@dataclass
class Row:
    """One line of a comparison: per-round figures of ours and of one peer.

    ``goal`` is the lowest acceptable median ratio ours/peer, if the issue sets one.
    """

    measure: str
    peer: str
    ours: list[float] = field(default_factory=list)
    theirs: list[float] = field(default_factory=list)
    goal: float | None = None

    @property
    def ours_median(self) -> float:
        return statistics.median(self.ours)

    @property
    def peer_median(self) -> float:
        return statistics.median(self.theirs)

    @property
    def ratio(self) -> float:
        return self.ours_median / self.peer_median

    @property
    def goal_met(self) -> bool | None:
        return None if self.goal is None else self.ratio >= self.goal


@dataclass
class Report:
    """What a benchmark module measured, ready to print as text and Markdown."""

    title: str
    details: list[tuple[str, str]]
    commands: list[str]
    rows: list[Row]
    notes: list[str] = field(default_factory=list)


def figure(value: float) -> str:
    """A rate with three significant digits, thousands separated."""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def ratio_text(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}x"
    if value >= 10:
        return f"{value:.1f}x"
    return f"{value:.2f}x"


def goal_text(row: Row) -> str:
    if row.goal is None:
        return ""
    verdict = "met" if row.goal_met else "**NOT met**"
    return f">= {row.goal:g}x: {verdict}"


def spread_text(values: Sequence[float]) -> str:
    """Range of the rounds relative to their median, e.g. ``±4%``."""
    mid = statistics.median(values)
    if len(values) < 2 or mid == 0:
        return "-"
    half = (max(values) - min(values)) / 2 / mid
    return f"±{half * 100:.0f}%"


def render_table(rows: Sequence[Row]) -> str:
    """The comparison as a Markdown table (readable as plain text too)."""
    header = ["measure", "ours", "peer", "peer figure", "ours/peer", "goal", "spread ours/peer"]
    lines = [header]
    for row in rows:
        lines.append([row.measure, figure(row.ours_median), row.peer, figure(row.peer_median),
                      ratio_text(row.ratio), goal_text(row),
                      f"{spread_text(row.ours)} / {spread_text(row.theirs)}"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    right = {1, 3, 4}

    def cells(line: list[str]) -> str:
        parts = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(line, widths, strict=True))]
        return "| " + " | ".join(parts) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2))
                          for i, w in enumerate(widths)) + "|"
    return "\n".join([cells(lines[0]), rule, *(cells(line) for line in lines[1:])])


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> list[tuple[str, str]]:
    """The hardware and interpreter every figure depends on."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = f"{os.cpu_count()} logical" + (f" ({usable} usable)" if usable else "")
    return [
        ("date (UTC)", datetime.now(UTC).strftime("%Y-%m-%d %H:%M")),
        ("CPU", cpu_model()),
        ("cores", cores),
        ("OS", platform.platform()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("command", " ".join(["python -m bench", *sys.argv[1:]])),
    ]


def render_report(report: Report) -> str:
    out = [f"## {report.title}", ""]
    out += [f"- {name}: {value}" for name, value in report.details]
    if report.commands:
        out += ["- peer commands:", *(f"  - `{cmd}`" for cmd in report.commands)]
    out += ["", render_table(report.rows), ""]
    out += [f"- {note}" for note in report.notes]
    return "\n".join(out).rstrip() + "\n"


def progress(message: str) -> None:
    """Progress goes to stderr so stdout stays the table."""
    print(message, file=sys.stderr, flush=True)
