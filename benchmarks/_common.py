"""What every benchmark script needs in the same form: command line, timing, peers, report.

Each ``bench_*.py`` measures its own contenders; this module holds the parts they share.

- Command line: ``bench_parser`` (``--quick``, ``--json PATH`` and, for a benchmark that can
  draw its main table, ``--plot PATH``), ``parse_frames_repeats`` (plus ``--frames`` and
  ``--repeats`` with their full and ``--quick`` defaults) and ``positive_int``.
- Timing: ``interleaved`` visits every contender once per repeat in a freshly shuffled,
  seeded order, so a slow drift of the machine (clock, load, heat) hits all contenders alike;
  ``wall_seconds`` times one call; ``medians`` and ``spread`` summarize the repeats.
- Peers: ``load_peers`` builds and smoke-tests optional peers, so a broken install is
  reported as missing (``error_text``, ``peer_missing_lines``) instead of failing mid-run.
- Speech input: ``read_wav`` and ``demo_speech_16k``, from ``../shared/data/speech``.
- Report: ``format_table`` and its cells (``num``, ``ratio``, ``verdict``,
  ``ratio_verdict``), ``spread_line``, ``progress`` (to stderr), ``write_report`` (stdout,
  and JSON with the machine facts from ``_machine``) and ``bench_main`` (which also writes
  the ``--plot`` PNG, drawn with ``_plot``).
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib.metadata
import json
import math
import random
import statistics
import sys
import time
import wave
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from _machine import machine_info, machine_summary
from _plot import require_matplotlib

T = TypeVar("T")

SPEECH_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech"
#: The speech clip bench_resample and bench_stream feed (16-bit mono, 16 kHz).
DEMO_SPEECH_FILE = SPEECH_DIR / "allison_demo-instruct_16k.wav"

# --------------------------------------------------------------------------- command line


def positive_int(text: str) -> int:
    """argparse type: an int >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def bench_parser(
    doc: str, quick_help: str, *, plot_help: str | None = None
) -> argparse.ArgumentParser:
    """A parser described by the first paragraph of ``doc``, with ``--quick`` and ``--json``;
    with ``plot_help`` (what the plot shows), also ``--plot PATH`` (a PNG, matplotlib)."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help=quick_help)
    p.add_argument("--json", type=Path, metavar="PATH", help="also write every number as JSON")
    if plot_help is not None:
        p.add_argument(
            "--plot",
            type=Path,
            metavar="PATH",
            help=f"also write a PNG of {plot_help} (matplotlib)",
        )
    return p


def parse_frames_repeats(
    doc: str,
    argv: Sequence[str] | None,
    *,
    full: tuple[int, int],
    quick: tuple[int, int],
    frames_metavar: str,
    frames_help: str,
    repeats_help: str = "timed runs per contender, median reported",
    frames_above: int = 0,
    plot_help: str | None = None,
) -> argparse.Namespace:
    """Parse ``--quick``, ``--json PATH``, ``--frames``, ``--repeats`` (and ``--plot PATH``).

    Parameters
    ----------
    doc : str
        The script's docstring; its first paragraph describes the command.
    argv : sequence of str or None
        The arguments (None: ``sys.argv[1:]``).
    full, quick : tuple of (int, int)
        (frames, repeats) of a full run and of a ``--quick`` run; an explicit ``--frames`` or
        ``--repeats`` wins over both.
    frames_metavar : str
        How ``--help`` names the ``--frames`` value.
    frames_help, repeats_help : str
        What the two counts count; ``--help`` adds the full run's value, "(default N)".
    frames_above : int
        ``--frames`` (given or defaulted) must exceed this, else the parser exits with an
        error; when set, ``--help`` says so after the default.
    plot_help : str or None
        What the plot shows; given, the parser also takes ``--plot PATH`` (see ``bench_parser``).

    Returns
    -------
    argparse.Namespace
        ``quick``, ``json`` (Path or None), ``frames`` and ``repeats`` (ints, never None),
        and with ``plot_help``, ``plot`` (Path or None).
    """
    (full_frames, full_repeats), (quick_frames, quick_repeats) = full, quick
    p = bench_parser(
        doc,
        f"smoke-test size: {quick_frames} frames, {quick_repeats} "
        f"repeat{'' if quick_repeats == 1 else 's'}",
        plot_help=plot_help,
    )
    lower_bound = f"; > {frames_above}" if frames_above else ""
    p.add_argument(
        "--frames",
        type=positive_int,
        metavar=frames_metavar,
        help=f"{frames_help} (default {full_frames}{lower_bound})",
    )
    p.add_argument(
        "--repeats",
        type=positive_int,
        metavar="R",
        help=f"{repeats_help} (default {full_repeats})",
    )
    args = p.parse_args(argv)
    sizes = quick if args.quick else full
    if args.frames is None:
        args.frames = sizes[0]
    if args.frames <= frames_above:
        p.error(f"--frames must be > {frames_above}")
    if args.repeats is None:
        args.repeats = sizes[1]
    return args


# --------------------------------------------------------------------------- timing


def interleaved(contenders: Sequence[T], repeats: int, rng: random.Random) -> Iterator[T]:
    """Every contender ``repeats`` times: each repeat visits all, in a fresh ``rng`` shuffle.

    The caller measures each visit; the median per contender is what a benchmark reports.
    """
    order = list(contenders)
    for _ in range(repeats):
        rng.shuffle(order)
        yield from order


def wall_seconds(fn: Callable[[], object]) -> float:
    """Wall-clock seconds of one call of ``fn``, started right after a ``gc.collect()``."""
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def medians(samples: dict[str, list[float]]) -> dict[str, float]:
    """The median of each contender's samples."""
    return {key: statistics.median(xs) for key, xs in samples.items()}


def spread(samples: Sequence[float]) -> float:
    """How much the repeats of one cell disagree: (max - min) / median."""
    return (max(samples) - min(samples)) / statistics.median(samples)


# --------------------------------------------------------------------------- peers


def error_text(exc: BaseException) -> str:
    """``"TypeName: message"``: why a peer is reported missing."""
    return f"{type(exc).__name__}: {exc}"


def load_peers(
    peers: Iterable[tuple[str, Callable[[], T]]], smoke: Callable[[T], object]
) -> tuple[list[T], dict[str, str]]:
    """Build each optional peer and run ``smoke`` on it, so a broken install fails here.

    Parameters
    ----------
    peers : iterable of (str, callable)
        The name reported when the peer is missing, and what builds it (typically importing
        the peer's package).
    smoke : callable
        A short run of what was built; any exception means the peer is skipped.

    Returns
    -------
    loaded : list
        What each peer that built and ran returned, in order.
    missing : dict of str to str
        For every other peer, its name and ``error_text`` of the failure.
    """
    loaded: list[T] = []
    missing: dict[str, str] = {}
    for name, build in peers:
        try:
            peer = build()
            smoke(peer)
        except Exception as exc:  # noqa: BLE001 - any failure means "skip this peer"
            missing[name] = error_text(exc)
            continue
        loaded.append(peer)
    return loaded, missing


def peer_missing_lines(
    missing: dict[str, str], effect: str = "its columns are skipped"
) -> list[str]:
    """One report line per missing peer: its name, why, and ``effect``."""
    return [f"peer missing: {name} ({why}); {effect}" for name, why in missing.items()]


# --------------------------------------------------------------------------- speech input


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """int16 mono samples and the rate of a 16-bit PCM WAV file."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path.name}: expected 16-bit mono PCM")
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)
        return x, w.getframerate()


@functools.cache
def demo_speech_16k() -> np.ndarray | None:
    """``DEMO_SPEECH_FILE`` as int16 at 16 kHz, or None when it is absent or not in that form."""
    try:
        x, rate_hz = read_wav(DEMO_SPEECH_FILE)
    except (OSError, ValueError, wave.Error, EOFError):
        return None
    return x if rate_hz == 16000 else None


# --------------------------------------------------------------------------- report


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Aligned plain-text table; the first column is left-aligned, the rest right-aligned."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def num(x: float | None, digits: int = 2, *, signed: bool = False) -> str:
    """A table cell: ``x`` with ``digits`` decimals (``signed``: with its sign), "-" if unknown.

    Unknown is None or a non-finite float.
    """
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or None without both values or with ``b <= 0``."""
    return None if a is None or b is None or b <= 0 else a / b


def verdict(ok: bool | None) -> str:
    """The verdict on a target: "PASS", "MISS", or "n/a" when there was nothing to judge."""
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def ratio_verdict(cost_ratio: float | None, max_ratio: float) -> str:
    """The ``verdict`` on ``cost_ratio <= max_ratio`` ("n/a" without a ratio)."""
    return verdict(None if cost_ratio is None else cost_ratio <= max_ratio)


def spread_line(cells: Iterable[tuple[str, Sequence[float]]]) -> str:
    """How much the repeats disagree over all cells, naming the worst; "" if none repeated.

    ``cells`` gives each cell's name and its samples; cells with fewer than two are skipped.
    """
    spreads = [(spread(xs), name) for name, xs in cells if len(xs) >= 2]
    if not spreads:
        return ""
    worst = max(spreads)
    med = statistics.median(s for s, _ in spreads)
    return (
        f"repeat spread (max-min)/median: median {med:.0%} over cells, "
        f"worst {worst[0]:.0%} ({worst[1]})"
    )


def progress(msg: str) -> None:
    """A progress line on stderr (stdout carries only the report)."""
    print(msg, file=sys.stderr, flush=True)


def package_versions(dists: Sequence[str]) -> dict[str, str]:
    """Installed version of each distribution, or ``"not installed"``."""
    out = {}
    for dist in dists:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def jsonable(x: Any) -> Any:
    """``x`` with numpy scalars made plain and non-finite floats made ``None`` (for JSON)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def write_report(
    lines: Sequence[str], results: dict[str, Any], info: dict[str, Any], json_path: Path | None
) -> None:
    """Print the report; with ``json_path``, also write the machine facts and ``results`` there.

    The JSON holds ``machine`` (``info``), ``machine_summary`` (the report's header lines)
    and every key of ``results``; NaN and infinity are refused.
    """
    print("\n".join(lines))
    if json_path is not None:
        payload = {"machine": info, "machine_summary": machine_summary(info), **results}
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(
            json.dumps(payload, indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )
        progress(f"wrote {json_path}")


def bench_main(
    args: argparse.Namespace,
    run: Callable[[argparse.Namespace], dict[str, Any]],
    report: Callable[[dict[str, Any], dict[str, Any]], list[str]],
    to_json: Callable[[Any], Any] | None = None,
    *,
    plot: Callable[[dict[str, Any], Path], None] | None = None,
) -> int:
    """Read the machine facts, ``run(args)`` (timed: ``elapsed_s``), then ``write_report`` what
    ``report`` makes of it, with an ``elapsed`` line. ``to_json`` (e.g. :func:`jsonable`)
    prepares the results for the JSON file; by default they go as they are. With ``plot`` and
    ``args.plot`` (``--plot PATH``), ``plot(results, args.plot)`` then writes the PNG (it gets
    the results as ``run`` returned them); without matplotlib the command exits before the run.

    Returns the exit status (0).
    """
    plot_path = getattr(args, "plot", None) if plot is not None else None
    if plot_path is not None:
        require_matplotlib()
    info = machine_info()
    t0 = time.perf_counter()
    results = run(args)
    results["elapsed_s"] = time.perf_counter() - t0
    lines = report(results, info)
    lines.append(f"\nelapsed {results['elapsed_s']:.0f} s")
    write_report(lines, to_json(results) if to_json else results, info, args.json)
    if plot is not None and plot_path is not None:
        plot(results, plot_path)
        progress(f"wrote {plot_path}")
    return 0
