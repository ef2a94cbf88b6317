"""PNG plots of the benchmarks' main tables, for ``--plot PATH``.

matplotlib (in the ``bench`` extra) is imported only when a plot is drawn, with the Agg
backend (no display needed), so every benchmark runs without it when no plot is asked for;
``require_matplotlib`` lets ``_common.bench_main`` refuse ``--plot`` before a run rather than
after it.

``bar_chart`` draws panels of grouped bars (``Panel``: one group per table row on the x axis,
one bar per series in each group, dashed reference lines such as a target) and writes the
PNG; ``per_contender`` makes a panel's series from a table's rows and ``cost_panel`` a panel
from a ``_peers.time_contenders`` section. ``pyplot`` and ``save`` serve plots of another
shape (bench_apm_silence's cost over time).
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


def require_matplotlib() -> None:
    """Exit with a message when matplotlib is not installed."""
    if importlib.util.find_spec("matplotlib") is None:
        raise SystemExit("--plot needs matplotlib: pip install -e '.[bench]'")


def pyplot() -> Any:
    """``matplotlib.pyplot`` with the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: Path) -> None:
    """Write ``fig`` to ``path`` as PNG (creating its folder) and close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, format="png")
    pyplot().close(fig)


@dataclass(frozen=True)
class Panel:
    """One chart: ``series`` maps a legend label to one value per group (None: no bar)."""

    title: str
    groups: Sequence[str]
    series: Mapping[str, Sequence[float | None]]
    ylabel: str
    log: bool = False
    #: label -> y of a dashed horizontal line (a target, parity).
    lines: Mapping[str, float] = field(default_factory=dict)


def per_contender(
    rows: Sequence[Mapping[str, Any]], labels: Mapping[str, str], field: str
) -> dict[str, list[float | None]]:
    """A series per contender, named ``labels[key]``: ``row[field][key]`` of each row (None
    where the contender has no value)."""
    return {label: [row[field].get(key) for row in rows] for key, label in labels.items()}


def cost_panel(
    title: str, section: Mapping[str, Any], lines: Mapping[str, float] | None = None
) -> Panel:
    """One bar per contender of a timed section (``labels``: key to label; ``results``: key to
    ``{"us_per_frame": ...}``, as ``_peers.time_contenders`` returns): µs per 10 ms frame."""
    results = section["results"]
    return Panel(
        title,
        [section["labels"][k] for k in results],
        {"µs per 10 ms frame": [v["us_per_frame"] for v in results.values()]},
        "µs per frame",
        lines=lines or {},
    )


def _draw(ax: Any, panel: Panel, palette: Sequence[Any]) -> None:
    n = max(len(panel.series), 1)
    width = 0.8 / n
    x = np.arange(len(panel.groups))
    for i, (label, values) in enumerate(panel.series.items()):
        ys = [math.nan if v is None else float(v) for v in values]
        color = palette[i % len(palette)] if n > 10 else None  # the default cycle has 10
        ax.bar(x + (i - (n - 1) / 2) * width, ys, width, label=label, color=color)
    for style, (label, y) in zip(("--", ":", "-."), panel.lines.items(), strict=False):
        ax.axhline(y, color="black", linestyle=style, linewidth=0.9, label=label)
    long_labels = max((len(g) for g in panel.groups), default=0) * len(panel.groups) > 60
    ax.set_xticks(
        x, panel.groups, rotation=25 if long_labels else 0, ha="right" if long_labels else "center"
    )
    ax.tick_params(axis="x", labelsize=8)
    if panel.log:
        ax.set_yscale("log")
    ax.set_ylabel(panel.ylabel, fontsize=9)
    ax.set_title(panel.title, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    if panel.series or panel.lines:  # right of the axes: never over a bar
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def bar_chart(path: Path, title: str, panels: Sequence[Panel], *, columns: int = 1) -> None:
    """``panels`` as grouped bar charts in a grid of ``columns``, ``title`` above, to ``path``."""
    plt = pyplot()
    rows = max(math.ceil(len(panels) / columns), 1)
    bars = max((len(p.groups) * max(len(p.series), 1) for p in panels), default=1)
    legend = max((len(k) for p in panels for k in (*p.series, *p.lines)), default=0)
    # inches: the bars of the widest panel, then its legend (to the right) at ~0.055 in a letter
    panel_width = min(max(5.0, 1.2 + 0.3 * bars), 14.0) + 0.6 + 0.055 * legend
    fig, axes = plt.subplots(
        rows, columns, figsize=(panel_width * columns, 3.4 * rows), squeeze=False
    )
    palette = plt.get_cmap("tab20").colors
    for ax, panel in zip(axes.flat, panels, strict=False):
        _draw(ax, panel, palette)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save(fig, path)
