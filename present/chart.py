"""SVG charts: a donut of memory components, its legend, and a bar of need vs GPU capacity.

The capacity bar draws the engine's verdict (``present.fit``); it never decides one.
Output is deterministic (fixed precision, no random ids) so builds are reproducible
and the parity test can compare the build's SVG with the worker's byte for byte.
Colours are CSS custom properties with light-theme fallbacks (see palette.py), so the
page's stylesheet restyles the same markup for dark mode; no inline ``style``
attributes are emitted (the site's CSP forbids them).
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from engine.units import format_gib

from .labels import Gettext, label_of, untranslated
from .palette import colour_of


def _f(x: float) -> str:
    """Fixed 2-decimal coordinates ('-0.00' normalised) for stable output."""
    text = f"{x:.2f}"
    return "0.00" if text == "-0.00" else text


def _arc_path(cx: float, cy: float, r_out: float, r_in: float, a0: float, a1: float) -> str:
    """Path of a donut slice between angles a0 < a1 (radians, 0 = 12 o'clock, clockwise)."""
    large = 1 if a1 - a0 > math.pi else 0
    # each angle's sine and cosine once (the same floats pt() would compute for either radius)
    s0, c0, s1, c1 = math.sin(a0), math.cos(a0), math.sin(a1), math.cos(a1)

    def pt(r: float, s: float, c: float) -> str:
        return f"{_f(cx + r * s)} {_f(cy - r * c)}"

    out, inner = _f(r_out), _f(r_in)
    return (
        f"M{pt(r_out, s0, c0)}A{out} {out} 0 {large} 1 {pt(r_out, s1, c1)}"
        f"L{pt(r_in, s1, c1)}A{inner} {inner} 0 {large} 0 {pt(r_in, s0, c0)}Z"
    )


_RANK: dict[str, int] = {}  # engine.result.COMPONENT_NAMES -> position, filled on first use


def ordered_parts(components: dict[str, int]) -> list[tuple[str, int]]:
    """Return the non-zero components in the engine's order (``COMPONENT_NAMES``), so the
    chart does not depend on the order a JSON round trip left the keys in."""
    if not _RANK:
        from engine.result import COMPONENT_NAMES

        _RANK.update((name, i) for i, name in enumerate(COMPONENT_NAMES))
    rank, last = _RANK, len(_RANK)
    items = sorted(components.items(), key=lambda kv: (rank.get(kv[0], last), kv[0]))
    return [(name, int(value)) for name, value in items if value > 0]


_LABELS: dict[tuple[Gettext, str], str] = {}  # (gettext, component) -> escaped label


def html_label(name: str, gettext: Gettext = untranslated) -> str:
    """``escape(label_of(name, gettext))``, kept per gettext: the worker draws the same
    few labels on every request (bounded: a build passes one gettext per page)."""
    key = (gettext, name)
    label = _LABELS.get(key)
    if label is None:
        if len(_LABELS) > 512:
            _LABELS.clear()
        label = _LABELS[key] = escape(label_of(name, gettext))
    return label


def _percent(value: int, total: int) -> str:
    return f"{100 * value / total:.1f}%" if total else "0.0%"


def donut_svg(
    components: dict[str, int],
    *,
    size: int = 220,
    title: str = "",
    caption: str = "per GPU",
    gettext: Gettext = untranslated,
) -> str:
    """Return an SVG donut of the non-zero components, total in the middle (GiB)."""
    parts = ordered_parts(components)
    total = sum(value for _, value in parts)
    cx = cy = size / 2
    r_out, r_in = size / 2 - 4, size / 2 - 40
    label = escape(title or "Memory by component")
    out = [
        f'<svg class="donut" viewBox="0 0 {size} {size}" width="{size}" height="{size}" '
        f'role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{label}</title>",
    ]
    if total == 0:
        out.append(
            f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="{_f((r_out + r_in) / 2)}" '
            f'fill="none" stroke="var(--c-empty, #ddd)" stroke-width="{_f(r_out - r_in)}"/>'
        )
    elif len(parts) == 1:
        name, value = parts[0]
        out.append(
            f'<circle class="slice" data-component="{name}" data-bytes="{value}" '
            f'cx="{_f(cx)}" cy="{_f(cy)}" r="{_f((r_out + r_in) / 2)}" fill="none" '
            f'stroke="{colour_of(name)}" stroke-width="{_f(r_out - r_in)}">'
            f"<title>{html_label(name, gettext)}: {format_gib(value)}</title></circle>"
        )
    else:
        angle = 0.0
        for name, value in parts:
            sweep = 2 * math.pi * value / total
            # keep tiny slices visible, but never let them overlap the next one
            end = angle + max(sweep, 0.004)
            out.append(
                f'<path class="slice" data-component="{name}" data-bytes="{value}" '
                f'd="{_arc_path(cx, cy, r_out, r_in, angle, min(end, 2 * math.pi))}" '
                f'fill="{colour_of(name)}"><title>{html_label(name, gettext)}: '
                f"{format_gib(value)} ({_percent(value, total)})</title></path>"
            )
            angle += sweep
    out.append(
        f'<text x="{_f(cx)}" y="{_f(cy - 4)}" text-anchor="middle" class="donut-total" '
        f'data-bytes="{total}">{format_gib(total)}</text>'
        f'<text x="{_f(cx)}" y="{_f(cy + 16)}" text-anchor="middle" class="donut-caption">'
        f"{escape(caption)}</text></svg>"
    )
    return "".join(out)


def legend_html(components: dict[str, int], *, gettext: Gettext = untranslated) -> str:
    """Return the donut's legend: one row per non-zero component, GiB, exact bytes and share."""
    parts = ordered_parts(components)
    total = sum(value for _, value in parts)
    rows = []
    for name, value in parts:
        rows.append(
            f'<li data-component="{name}">'
            '<svg class="swatch" viewBox="0 0 12 12" width="12" height="12" aria-hidden="true">'
            f'<rect width="12" height="12" rx="2" fill="{colour_of(name)}"/></svg>'
            f'<span class="legend-label">{html_label(name, gettext)}</span>'
            f'<span class="legend-gib" data-bytes="{value}">{format_gib(value)}</span>'
            f'<span class="legend-pct">{_percent(value, total)}</span>'
            f'<span class="legend-bytes">{value:,} B</span></li>'
        )
    return f'<ul class="legend" data-bytes="{total}">{"".join(rows)}</ul>'


def capacity_bar_svg(fit: dict[str, Any], *, width: int = 480, height: int = 44) -> str:
    """Return an SVG bar: the need of the most-loaded GPU against its budget, with the
    engine's verdict (``present.fit.gpu_fit``: fits, headroom, shortfall, budget)."""
    need, usable, budget = fit["need_bytes"], fit["usable_bytes"], fit["budget_bytes"]
    if usable <= 0 or budget <= 0:
        raise ValueError("usable_bytes and budget_bytes must be positive")
    fits = bool(fit["fits"])
    scale_max = max(need, usable, budget)
    bar_w = width - 2
    need_w = bar_w * need / scale_max
    cap_x = 1 + bar_w * budget / scale_max
    verdict = (
        f"fits, {format_gib(fit['headroom_bytes'])} free"
        if fits
        else f"does not fit: {format_gib(fit['shortfall_bytes'])} over"
    )
    where = gpu_where(fit)
    limit = (
        f"{format_gib(budget)} budget of {format_gib(usable)}"
        if budget != usable
        else format_gib(usable)
    )
    label = escape(f"{format_gib(need)} of {limit} per GPU on {where}: {verdict}")
    fill = "var(--c-fit, #1a9e77)" if fits else "var(--c-nofit, #d4453b)"
    return (
        f'<svg class="capacity" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{label}" '
        f'data-fits="{"true" if fits else "false"}" '
        f'data-headroom-bytes="{fit["headroom_bytes"]}" '
        f'data-shortfall-bytes="{fit["shortfall_bytes"]}" data-budget-bytes="{budget}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{label}</title>'
        f'<rect x="1" y="8" width="{_f(bar_w)}" height="20" rx="4" '
        'fill="var(--c-track, #e6e9ee)"/>'
        f'<rect x="1" y="8" width="{_f(need_w)}" height="20" rx="4" fill="{fill}" '
        f'data-bytes="{need}"/>'
        f'<line x1="{_f(cap_x)}" x2="{_f(cap_x)}" y1="2" y2="34" stroke="var(--c-ink, #222)" '
        f'stroke-width="2" data-bytes="{budget}"/>'
        f'<text x="{_f(min(cap_x, width - 4))}" y="{height - 1}" text-anchor="end" '
        f'class="capacity-label" fill="var(--c-ink, #222)">{escape(where)} '
        f"{escape(format_gib(budget))}</text></svg>"
    )


def gpu_where(fit: dict[str, Any]) -> str:
    """'GeForce RTX 4090', or '2× GeForce RTX 4090' on several GPUs (unescaped)."""
    name = str(fit["gpu_name"])
    return f"{fit['num_gpus']}× {name}" if fit["num_gpus"] > 1 else name
