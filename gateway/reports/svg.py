"""Small inline SVG charts for the report page: bars and a heat map, with no script and no outside file."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT, LEFT, RIGHT, BOTTOM, TOP = 720, 240, 44, 32, 46, 12
HEAT = "#1f6feb"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]
    colour: str


def _ticks(top: int) -> list[int]:
    """At most about five round steps (1, 2, 5, 10, 20, 50 …) from 0 to at least `top`."""
    step = 1
    while top / step > 5:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2
    return list(range(0, top + step, step))


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series]) -> str:
    """Grouped vertical bars, one group per label, with a value axis and a legend."""
    top = max([1, *(v for s in series for v in s.values)])
    ticks = _ticks(top)
    scale = (HEIGHT - BOTTOM - TOP) / ticks[-1]
    band = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    bar = band * 0.8 / max(len(series), 1)
    # Label every n-th bar group, so labels never overlap (about 6.6 px a character at 11 px).
    every = max(1, math.ceil(max((len(label) for label in labels), default=0) * 6.6 / (band * 0.95)))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}" class="chart">']
    for tick in ticks:
        y = HEIGHT - BOTTOM - tick * scale
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for i, label in enumerate(labels):
        x0 = LEFT + i * band + band * 0.1
        for j, s in enumerate(series):
            height = s.values[i] * scale
            parts.append(f'<rect x="{x0 + j * bar:.1f}" y="{HEIGHT - BOTTOM - height:.1f}" width="{bar * 0.95:.1f}" '
                         f'height="{height:.1f}" fill="{s.colour}"><title>{escape(label)}: {s.values[i]} '
                         f'{escape(s.name)}</title></rect>')
        if i % every == 0:
            parts.append(f'<text x="{x0 + band * 0.4:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    for j, s in enumerate(series):
        x = LEFT + j * 180
        parts.append(f'<rect x="{x}" y="{HEIGHT - 16}" width="12" height="12" fill="{s.colour}"/>'
                     f'<text x="{x + 18}" y="{HEIGHT - 6}">{escape(s.name)}</text>')
    return "".join(parts) + "</svg>"


def heat_map(title: str, rows: Sequence[str], grid: Sequence[Sequence[int]]) -> str:
    """One cell per (row, hour); the busiest cell is darkest, an empty one is blank."""
    cell_w, cell_h, left, top = (WIDTH - 50) / 24, 24, 44, 20
    most = max([1, *(n for row in grid for n in row)])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {top + cell_h * len(rows) + 4}" '
             f'role="img" aria-label="{escape(title)}" class="chart">']
    for hour in range(0, 24, 2):
        parts.append(f'<text x="{left + (hour + 0.5) * cell_w:.1f}" y="14" text-anchor="middle">{hour}</text>')
    for r, (name, row) in enumerate(zip(rows, grid, strict=True)):
        y = top + r * cell_h
        parts.append(f'<text x="{left - 6}" y="{y + cell_h * 0.65:.1f}" text-anchor="end">{escape(name)}</text>')
        for hour, n in enumerate(row):
            parts.append(f'<rect x="{left + hour * cell_w:.1f}" y="{y}" width="{cell_w - 1:.1f}" '
                         f'height="{cell_h - 1}" fill="{HEAT}" fill-opacity="{n / most:.3f}" class="cell">'
                         f'<title>{escape(name)} {hour:02d}:00: {n}</title></rect>')
    return "".join(parts) + "</svg>"
