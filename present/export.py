"""Exports of a schema-1 result: JSON, CSV and Markdown, all in exact bytes plus GiB."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from engine.units import GIB, format_gib

from .chart import ordered_parts
from .fit import gpu_fit
from .palette import label_of


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
    lines += _request_lines(result.get("request", {}))
    lines += ["", "| Component | GiB | Bytes |", "|---|---:|---:|"]
    for _, label, value in _rows(result):
        lines.append(f"| {label} | {value / GIB:.2f} | {value:,} |")
    fit = gpu_fit(result)
    if fit is not None:
        headroom = fit["budget_bytes"] - fit["need_bytes"]
        where = f"{fit['num_gpus']}× {fit['gpu_name']}" if fit["num_gpus"] > 1 else fit["gpu_name"]
        verdict = (
            f"fits, {format_gib(headroom)} headroom per GPU"
            if headroom >= 0
            else f"does not fit, {format_gib(-headroom)} short per GPU"
        )
        lines += [
            "",
            f"**{where}**: {verdict} (usable {format_gib(fit['usable_bytes'])}"
            + (
                f", budget {format_gib(fit['budget_bytes'])}"
                if fit["budget_bytes"] != fit["usable_bytes"]
                else ""
            )
            + ").",
        ]
    if result.get("warnings"):
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in result["warnings"]]
    if result.get("assumptions"):
        lines += ["", "## Assumptions", ""] + [f"- {a}" for a in result["assumptions"]]
    lines += ["", "GiB = 2^30 bytes. Computed by VRAM Insight."]
    return "\n".join(lines) + "\n"
