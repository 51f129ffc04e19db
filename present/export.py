"""Exports of a schema-1 result: JSON, CSV and Markdown, all in exact bytes plus GiB."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from engine.form import applicable_request
from engine.units import GIB, format_gib

from .chart import gpu_where, ordered_parts
from .fit import gpu_fit
from .labels import label_of


def to_json(result: dict[str, Any]) -> str:
    """Stable, sorted JSON (the CLI's --json schema)."""
    return json.dumps(result, indent=2, sort_keys=True, allow_nan=False) + "\n"


def _rows(result: dict[str, Any]) -> list[tuple[str, str, int]]:
    rows = [(name, label_of(name), value) for name, value in ordered_parts(result["components"])]
    rows.append(("per_gpu", "Total per GPU", result["per_gpu_bytes"]))
    if len(result.get("gpu_bytes", [])) > 1:
        rows.append(("all_gpus", f"All {len(result['gpu_bytes'])} GPUs", result["total_bytes"]))
    if result.get("host_bytes"):
        rows.append(("host", "Host RAM (offload)", result["host_bytes"]))
    return rows


def to_csv(result: dict[str, Any]) -> str:
    """CSV with one row per component: key, label, bytes, GiB."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["component", "label", "bytes", "gib"])
    for key, label, value in _rows(result):
        writer.writerow([key, label, value, f"{value / GIB:.4f}"])
    return buf.getvalue()


def _request_lines(request: dict[str, Any]) -> list[str]:
    return [
        f"- {key.replace('_', ' ')}: `{value}`"
        for key, value in sorted(request.items())
        if value is not None
    ]


def to_markdown(result: dict[str, Any]) -> str:
    """A Markdown report: settings, the component table, assumptions and warnings."""
    model = result.get("model", {})
    lines = [f"# {model.get('name', 'Model')} — {result.get('mode', '')} memory", ""]
    lines += _request_lines(applicable_request(result))  # only what applies to this mode
    lines += ["", "| Component | GiB | Bytes |", "|---|---:|---:|"]
    for _, label, value in _rows(result):
        lines.append(f"| {label} | {value / GIB:.2f} | {value:,} |")
    fit = gpu_fit(result)
    if fit is not None:
        verdict = (
            f"fits, {format_gib(fit['headroom_bytes'])} headroom per GPU"
            if fit["fits"]
            else f"does not fit, {format_gib(fit['shortfall_bytes'])} short per GPU"
        )
        budget = (
            f", budget {format_gib(fit['budget_bytes'])}"
            if fit["budget_bytes"] != fit["usable_bytes"]
            else ""
        )
        lines += [
            "",
            f"**{gpu_where(fit)}**: {verdict} (usable {format_gib(fit['usable_bytes'])}{budget}).",
        ]
    if result.get("warnings"):
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in result["warnings"]]
    if result.get("assumptions"):
        lines += ["", "## Assumptions", ""] + [f"- {a}" for a in result["assumptions"]]
    lines += ["", "GiB = 2^30 bytes. Computed by VRAM Insight."]
    return "\n".join(lines) + "\n"


EXPORTS = {"json": to_json, "csv": to_csv, "markdown": to_markdown}


def export(result: dict[str, Any], kind: str) -> str:
    """Return one export of a result (``kind``: json, csv or markdown), made on demand."""
    if kind not in EXPORTS:
        raise ValueError(f"unknown export {kind!r}; one of {', '.join(EXPORTS)}")
    return EXPORTS[kind](result)
