"""Small inline SVG trend charts (no JavaScript, no CDN): a line over the buckets, gaps where empty."""

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from ops.dashboard import Trend

WIDTH, HEIGHT, PAD = 240, 48, 3
_STROKE = 'stroke="currentColor"'
_SVG = (
    '<svg class="sparkline" role="img" aria-label="{}" viewBox="0 0 {w} {h}" width="{w}" height="{h}">'
    "{}</svg>"
)


def sparkline(trend: Trend, *, label: str, fmt: str = "{:g}", date_format: str = "%d %b %H:%M") -> SafeString:
    """An SVG line chart of `trend` scaled to its own maximum, with a tooltip per bucket."""
    present = [v for v in trend.values if v is not None]
    top = max(present, default=0) or 1
    n = len(trend.values)
    step = (WIDTH - 2 * PAD) / max(n - 1, 1)
    bottom = HEIGHT - PAD

    def x(i: int) -> float:
        return PAD + i * step

    def y(value: float) -> float:
        return bottom - (value / top) * (HEIGHT - 2 * PAD)

    # Consecutive buckets with a value form one line; an empty bucket breaks it.
    segments: list[list[tuple[float, float]]] = [[]]
    for i, value in enumerate(trend.values):
        if value is None:
            segments.append([])
        else:
            segments[-1].append((x(i), y(value)))

    right = WIDTH - PAD
    parts = [f'<line x1="{PAD}" y1="{bottom}" x2="{right}" y2="{bottom}" {_STROKE} stroke-opacity=".2"/>']
    for points in filter(None, segments):
        if len(points) == 1:
            (cx, cy) = points[0]
            parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="1.8" fill="currentColor"/>')
        else:
            coords = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(f'<polyline fill="none" {_STROKE} stroke-width="1.5" points="{coords}"/>')
    for i, (start, value) in enumerate(zip(trend.starts, trend.values, strict=True)):
        shown = "no data" if value is None else fmt.format(value)
        parts.append(
            f'<rect x="{x(i) - step / 2:.1f}" y="0" width="{step:.1f}" height="{HEIGHT}" fill="transparent">'
            f"<title>{escape(start.strftime(date_format))}: {escape(shown)}</title></rect>"
        )
    return format_html(
        _SVG,
        label,
        mark_safe("".join(parts)),  # noqa: S308 - built above from numbers and escaped text only
        w=WIDTH,
        h=HEIGHT,
    )
