"""``python -m bench [NAME ...]``: run the named benchmarks, or all registered ones.

Tables go to stdout (Markdown, ready for docs/performance.md), progress to stderr.
Exit status: 0 when every benchmark ran, 1 when a peer command failed, 2 on a usage
error, 130 when interrupted with Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import cast

from bench import Options, PeerFailed, Report, machine, progress, render_report

# Name on the command line -> module exposing ``run(options: Options) -> Report``.
# Add a module here and ``make bench`` runs it; order is the order of the output.
BENCHMARKS: dict[str, str] = {
    "crypto": "bench.crypto",
    "ledger": "bench.ledger",
    "mfa": "bench.mfa",
    "idp": "bench.idp",
    "records": "bench.records",
}

QUICK = Options(rounds=2, seconds=1, quick=True)
DEFAULT = Options()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run EduTrust benchmarks side by side with their peers.")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    parser.add_argument("--rounds", type=int, default=None,
                        help=f"alternations of ours and the peer (default {DEFAULT.rounds}, "
                             f"quick {QUICK.rounds})")
    parser.add_argument("--seconds", type=int, default=None,
                        help=f"whole seconds per measurement (default {DEFAULT.seconds}, "
                             f"quick {QUICK.seconds})")
    parser.add_argument("--quick", action="store_true",
                        help="short smoke run; figures are indicative only")
    parser.add_argument("--wall-clock", action="store_true",
                        help="divide by wall-clock time instead of CPU time where a "
                             "benchmark can do either (crypto)")
    parser.add_argument("--full", action="store_true",
                        help="long sizes where a benchmark has them (ledger: audit of "
                             "10^5 transactions instead of 10^4)")
    return parser


def _options(args: argparse.Namespace) -> Options:
    base = QUICK if args.quick else DEFAULT
    return Options(rounds=args.rounds if args.rounds is not None else base.rounds,
                   seconds=args.seconds if args.seconds is not None else base.seconds,
                   quick=base.quick, wall_clock=args.wall_clock, full=args.full)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    options = _options(args)
    if options.rounds < 1 or options.seconds < 1:
        parser.error("--rounds and --seconds must be at least 1")

    print("# EduTrust benchmarks\n")
    print("\n".join(f"- {name}: {value}" for name, value in machine()) + "\n", flush=True)
    failed: list[str] = []
    try:
        for name in args.names or list(BENCHMARKS):
            module = importlib.import_module(BENCHMARKS[name])
            run = cast(Callable[[Options], Report], module.run)
            try:
                report = run(options)
            except PeerFailed as exc:
                progress(f"bench {name}: peer failed: {exc}")
                failed.append(name)
                continue
            print(render_report(report), flush=True)
    except KeyboardInterrupt:
        progress("bench: interrupted")
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
