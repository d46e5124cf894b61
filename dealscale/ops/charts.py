"""Small inline SVG trend charts (no JavaScript, no CDN): a line over the buckets, gaps where empty."""

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from dealscale.ops.dashboard import Trend

WIDTH, HEIGHT, PAD = 240, 48, 3


def sparkline(trend: Trend, *, label: str, fmt: str = "{:g}", date_format: str = "%d %b %H:%M") -> SafeString:
    """An SVG line chart of `trend` scaled to its own maximum, with a tooltip per bucket."""
    present = [v for v in trend.values if v is not None]
    top = max(present, default=0) or 1
    n = len(trend.values)
    step = (WIDTH - 2 * PAD) / max(n - 1, 1)

    def x(i: int) -> float:
        return PAD + i * step

    def y(value: float) -> float:
        return HEIGHT - PAD - (value / top) * (HEIGHT - 2 * PAD)

    segments, current = [], []
    for i, value in enumerate(trend.values):
        if value is None:
            if current:
                segments.append(current)
            current = []
            continue
        current.append(f"{x(i):.1f},{y(value):.1f}")
    if current:
        segments.append(current)

    parts = [
        f'<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{" ".join(points)}"/>'
        if len(points) > 1
        else f'<circle cx="{points[0].split(",")[0]}" cy="{points[0].split(",")[1]}" r="1.8" fill="currentColor"/>'
        for points in segments
    ]
    for i, (start, value) in enumerate(zip(trend.starts, trend.values, strict=True)):
        shown = "no data" if value is None else fmt.format(value)
        parts.append(
            f'<rect x="{x(i) - step / 2:.1f}" y="0" width="{step:.1f}" height="{HEIGHT}" fill="transparent">'
            f"<title>{escape(start.strftime(date_format))}: {escape(shown)}</title></rect>"
        )
    return format_html(
        '<svg class="sparkline" role="img" aria-label="{}" viewBox="0 0 {} {}" width="{}" height="{}">{}</svg>',
        label,
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        mark_safe("".join(parts)),  # noqa: S308 - built above from numbers and escaped text only
    )
