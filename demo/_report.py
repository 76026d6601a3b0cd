"""The December rehearsal's report: one self-contained HTML page with inline SVG line charts
(no plotting dependency): events/s in and out, throttles, open shards and lag over time, with
the autoscaler's changes marked; the samples are embedded as JSON at the end."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from ._december_alarms import alarm_markers
from ._december_dynamodb import dynamodb_series
from ._december_model import DecemberConfig, DecemberSummary, Sample, describe_december

Point = tuple[float, float]
Series = tuple[str, str, list[Point]]  # name, colour, points

_WIDTH, _HEIGHT = 860, 230
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 28, 36
#: alarm markers ("ALARM: name", "OK: name") in red and green; the others grey
_MARKER_COLOURS = {"ALARM": "#d62728", "OK": "#2ca02c"}


def _rates(samples: Sequence[Sample], attribute: str, window_s: float = 5.0) -> list[Point]:
    """Per-second rate of a cumulative counter over the last ``window_s`` seconds at each sample
    (the archive grows in whole files, so a one-sample rate would be all spikes)."""
    points: list[Point] = []
    start = 0
    for after in samples[1:]:
        while start < len(samples) - 1 and samples[start + 1].t <= after.t - window_s:
            start += 1
        before = samples[start]
        seconds = after.t - before.t
        if seconds > 0:
            points.append((after.t, max(0.0, (getattr(after, attribute) - getattr(before, attribute)) / seconds)))
    return points


#: marker labels of the autoscaler's scale-downs (drawn green and named)
_DOWN = ("scale-down", "merge")


def _marker_colour(label: str) -> str:
    """Alarms red, OK again and scale-downs green, other changes grey."""
    if label.startswith(_DOWN):
        return "#2ca02c"
    return _MARKER_COLOURS.get(label.split(":", 1)[0], "#999")


def _nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is at least ``value``."""
    if value <= 0:
        return 1.0
    candidates = sorted(step * 10.0**power for power in range(-3, 13) for step in (1, 2, 2.5, 5))
    return next((c for c in candidates if c >= value), value)


def svg_chart(title: str, unit: str, series: Sequence[Series], markers: Sequence[tuple[float, str]] = ()) -> str:
    """A line chart: x is seconds since the load started, y in ``unit``; vertical markers."""
    xs = [x for _, _, points in series for x, _ in points] + [x for x, _ in markers]
    ys = [y for _, _, points in series for _, y in points]
    x_max = max(xs, default=1.0) or 1.0
    y_max = _nice_max(max(ys, default=0.0))
    plot_w, plot_h = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM

    def px(x: float) -> float:
        return _LEFT + plot_w * x / x_max

    def py(y: float) -> float:
        return _TOP + plot_h * (1 - y / y_max)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT}" role="img" '
        f'aria-label="{html.escape(title)}" font-family="sans-serif" font-size="11">',
        f'<text x="{_LEFT}" y="16" font-size="13" font-weight="bold">{html.escape(title)}</text>',
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#bbb"/>',
    ]
    for i in range(5):
        value = y_max * i / 4
        y = py(value)
        parts.append(f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
    for i in range(6):
        x_value = x_max * i / 5
        parts.append(
            f'<text x="{px(x_value):.1f}" y="{_HEIGHT - _BOTTOM + 14}" text-anchor="middle">{x_value:.0f}</text>'
        )
    parts.append(
        f'<text x="{_LEFT + plot_w / 2}" y="{_HEIGHT - 4}" text-anchor="middle">seconds since the load started</text>'
    )
    parts.append(
        f'<text x="12" y="{_TOP + plot_h / 2}" transform="rotate(-90 12 {_TOP + plot_h / 2})" '
        f'text-anchor="middle">{html.escape(unit)}</text>'
    )
    for x, label in markers:
        parts.append(
            f'<line x1="{px(x):.1f}" x2="{px(x):.1f}" y1="{_TOP}" y2="{_TOP + plot_h}" '
            f'stroke="{_marker_colour(label)}" stroke-dasharray="4 3"><title>{html.escape(label)}</title></line>'
        )
        if label.startswith(_DOWN):  # the way back down after the spike, named on the chart
            parts.append(f'<text x="{px(x) + 3:.1f}" y="{_TOP + 12}" fill="#2ca02c">{html.escape(label)}</text>')
    legend_x = _LEFT + plot_w
    for index, (name, colour, points) in enumerate(series):
        if points:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.8" points="{path}"/>')
        parts.append(
            f'<text x="{legend_x - 4}" y="{_TOP + 14 + 14 * index}" text-anchor="end" fill="{colour}">'
            f"{html.escape(name)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def render_report(summary: DecemberSummary, config: DecemberConfig) -> str:
    samples = summary.samples
    markers: list[tuple[float, str]] = []
    t0 = summary.wall_started
    for record in summary.decisions:
        if record.decision.changes and t0 is not None:
            markers.append(
                (max(0.0, record.at.timestamp() - t0), f"{record.decision.action} to {record.decision.target}")
            )
    markers += alarm_markers(summary.alarms, t0)
    if summary.spike_start_s is not None:
        markers.append((summary.spike_start_s, "spike starts"))
    if summary.spike_end_s is not None:
        markers.append((summary.spike_end_s, "spike ends"))
    charts = [
        svg_chart(
            "Events per second: in (accepted by the elf apps), delivered to Kinesis, out (archived)",
            "events/s",
            [
                ("accepted", "#1f77b4", _rates(samples, "accepted")),
                ("delivered", "#2ca02c", _rates(samples, "delivered")),
                ("archived", "#d62728", _rates(samples, "archived")),
            ],
            markers,
        ),
        svg_chart(
            "Throttling: Kinesis records refused (WriteProvisionedThroughputExceeded), GetRecords refused",
            "per second",
            [
                ("records refused/s", "#d62728", _rates(samples, "write_throttled")),
                ("GetRecords refused/s", "#9467bd", _rates(samples, "read_throttled")),
            ],
            markers,
        ),
        svg_chart(
            "Open shards (dashed: autoscaler changes, spike start and end; alarms red; OK and scale-downs green)",
            "shards",
            [("open shards", "#ff7f0e", [(s.t, float(s.open_shards)) for s in samples])],
            markers,
        ),
        svg_chart(
            "Lag: iterator age, events waiting in the producers, events in Kinesis not yet archived",
            "seconds / thousand events",
            [
                ("iterator age (s)", "#8c564b", [(s.t, s.iterator_age_ms / 1000.0) for s in samples]),
                ("in producers (k events)", "#17becf", [(s.t, (s.accepted - s.delivered) / 1e3) for s in samples]),
                ("unarchived (k events)", "#bcbd22", [(s.t, (s.delivered - s.archived) / 1e3) for s in samples]),
            ],
            markers,
        ),
    ]
    if summary.dynamodb is not None:
        charts.append(
            svg_chart(
                "DynamoDB kid table: write units consumed and available, statements throttled (ThrottlingError)",
                "per second",
                dynamodb_series(summary.dynamodb),
                markers,
            )
        )
    text = "\n".join(describe_december(summary))
    data = json.dumps([asdict(s) for s in samples])
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<title>nicelist December rehearsal</title>"
        "<style>body{font-family:sans-serif;margin:24px;max-width:900px}pre{background:#f6f6f6;padding:12px;"
        "white-space:pre-wrap}</style></head><body>\n"
        "<h1>nicelist December rehearsal</h1>\n"
        f"<p>Limits mode at scale {config.limits_scale:g} (per shard {1000 * config.limits_scale:g} records/s, "
        f"{1024 * config.limits_scale:.1f} KiB/s in); metrics and autoscaler period {config.metrics_period_s} s; "
        f"{config.demo.shape.events} events, base {config.demo.shape.base_rate:g}/s, spike "
        f"x{config.demo.shape.spike_factor:g}; {config.demo.shards} shards at the start.</p>\n"
        f"<pre>{html.escape(text)}</pre>\n" + "\n".join(charts) + "\n"
        f"<script type='application/json' id='samples'>{html.escape(data)}</script>\n</body></html>\n"
    )


def write_report(path: Path, summary: DecemberSummary, config: DecemberConfig) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(summary, config))
    return path.resolve()
