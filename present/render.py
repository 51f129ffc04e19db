"""The whole on-screen result, as HTML: the results panel (total, fit line, component
table, host and reserved memory, warnings, assumptions) and the chart (donut, legend,
capacity bar).

One renderer for both places a result is shown: the build includes ``panel_html`` and
``chart_html`` in the pages (translated with the page's gettext), and the worker attaches
the same view to every ``infer``/``train`` reply (``handle_json``), which the page inserts
in one DOM write. Exports are made only when asked for (``export_json``). Everything that
comes from input (model names from a pasted config, GPU names, engine prose) is escaped.
"""

from __future__ import annotations

import json
import traceback
from html import escape
from typing import Any

from engine.units import format_gib

from .chart import capacity_bar_svg, donut_svg, gpu_where, html_label, legend_html, ordered_parts
from .export import export
from .fit import gpu_fit
from .labels import Gettext, untranslated

# ops whose replies carry a view (results in schema 1)
VIEW_OPS = frozenset({"infer", "train"})


def _bytes(n: int, role: str = "") -> str:
    """A figure with its exact bytes, as templates/_macros.html ``bytes`` writes it."""
    attr = f' data-role="{role}"' if role else ""
    # format_gib writes digits, '.', ' ' and GiB/MiB only: nothing to escape
    return f'<span class="bytes" data-bytes="{int(n)}"{attr}>{format_gib(int(n))}</span>'


def _text(gettext: Gettext, msgid: str, **html: str) -> str:
    """The translated msgid, escaped, with already-escaped HTML pieces put in its slots."""
    text = escape(gettext(msgid))
    return text % html if html else text


def fit_line_html(result: dict[str, Any], gettext: Gettext = untranslated) -> str:
    """Return the panel's fit line: the engine's verdict against the chosen GPU, or an
    empty placeholder when no GPU was chosen."""
    fit = gpu_fit(result)
    if fit is None:
        return '<p class="capacity" data-role="fit"></p>'
    # one whole sentence per case, each a literal msgid (Babel extracts ``_text`` calls)
    pieces = {
        "gpu": escape(gpu_where(fit)),
        "usable": _bytes(fit["usable_bytes"], "usable"),
        "budget": _bytes(fit["budget_bytes"], "budget"),
    }
    own_budget = fit["budget_bytes"] != fit["usable_bytes"]  # vLLM: its share of usable
    if fit["fits"]:
        pieces["gap"] = _bytes(fit["headroom_bytes"], "headroom")
        text = (
            _text(gettext, "Fits on %(gpu)s: %(gap)s headroom per GPU "
                  "(%(budget)s budget of %(usable)s usable).", **pieces)
            if own_budget
            else _text(gettext, "Fits on %(gpu)s: %(gap)s headroom per GPU "
                       "(%(usable)s usable).", **pieces)
        )
    else:
        pieces["gap"] = _bytes(fit["shortfall_bytes"], "shortfall")
        text = (
            _text(gettext, "Does not fit on %(gpu)s: %(gap)s short per GPU "
                  "(%(budget)s budget of %(usable)s usable).", **pieces)
            if own_budget
            else _text(gettext, "Does not fit on %(gpu)s: %(gap)s short per GPU "
                       "(%(usable)s usable).", **pieces)
        )
    fits = "true" if fit["fits"] else "false"
    return f'<p class="capacity" data-role="fit" data-fits="{fits}">{text}</p>'


def _notes_html(result: dict[str, Any], gettext: Gettext) -> str:
    """The engine's sentences on why the total is what it is (engine.explain), beside it."""
    details = result.get("details") if isinstance(result.get("details"), dict) else {}
    notes = "".join(f"<li>{escape(gettext(n))}</li>" for n in details.get("notes") or [])
    return f'<ul class="notes" data-role="notes">{notes}</ul>' if notes else ""


def panel_html(result: dict[str, Any], gettext: Gettext = untranslated) -> str:
    """Return the results panel of one result (no chart)."""
    n_gpus = len(result.get("gpu_bytes") or [])
    label = _text(gettext, "Total")
    if n_gpus > 1:
        label += " " + escape(gettext("(all %(n)s GPUs)")) % {"n": n_gpus}
    per_gpu = (
        f' <span class="per-gpu">{_text(gettext, "per GPU")} '
        f'{_bytes(result["per_gpu_bytes"], "per-gpu")}</span>'
        if n_gpus > 1
        else ""
    )
    rows = "".join(
        f'<tr data-component="{escape(name)}"><th scope="row">'
        f"{html_label(name, gettext)}</th><td>{_bytes(value)}</td></tr>"
        for name, value in ordered_parts(result["components"])
    )
    out = [
        f'<div class="total-line"><span class="total-label">{label}</span> '
        f'<strong class="total" elementtiming="first-figure">'
        f'{_bytes(result["total_bytes"], "total")}</strong>{per_gpu}</div>',
        fit_line_html(result, gettext),
        _notes_html(result, gettext),
        '<table class="components"><caption class="visually-hidden">'
        f'{_text(gettext, "Memory by component (most-loaded GPU)")}</caption>'
        f"<tbody>{rows}</tbody></table>",
    ]
    if result.get("host_bytes"):
        out.append(
            f'<p class="host">{_text(gettext, "Host (CPU) memory:")} '
            f'{_bytes(result["host_bytes"], "host")}</p>'
        )
    if result.get("reserved_bytes"):
        out.append(
            f'<p class="reserved">{_text(gettext, "Pre-allocated by the runtime:")} '
            f'{_bytes(result["reserved_bytes"], "reserved")}</p>'
        )
    warnings = "".join(f"<li>{escape(gettext(w))}</li>" for w in result.get("warnings") or [])
    assumptions = "".join(
        f"<li>{escape(gettext(a))}</li>" for a in result.get("assumptions") or []
    )
    out.append(f'<ul class="warnings">{warnings}</ul>')
    out.append(
        f'<details class="assumptions"><summary>{_text(gettext, "Assumptions")}</summary>'
        f"<ul>{assumptions}</ul></details>"
    )
    return "\n".join(part for part in out if part)


def chart_parts(result: dict[str, Any], gettext: Gettext = untranslated) -> dict[str, str]:
    """Return the donut, its legend and the capacity bar (empty without a GPU)."""
    fit = gpu_fit(result)
    model = (result.get("model") or {}).get("name", "")
    many = len(result.get("gpu_bytes") or []) > 1
    return {
        "donut_svg": donut_svg(
            result["components"],
            title=f"{model} memory by component",
            caption=gettext("per GPU") if many else gettext("total"),
            gettext=gettext,
        ),
        "legend_html": legend_html(result["components"], gettext=gettext),
        "capacity_svg": capacity_bar_svg(fit) if fit is not None else "",
    }


def chart_html(
    result: dict[str, Any], gettext: Gettext = untranslated, *, state: str = "initial"
) -> str:
    """Return the chart figure (``#chart``): donut, legend and capacity bar."""
    return _figure(result, chart_parts(result, gettext), state)


def _figure(result: dict[str, Any], parts: dict[str, str], state: str) -> str:
    hidden = "" if parts["capacity_svg"] else " hidden"
    return (
        f'<figure id="chart" class="chart" data-state="{escape(state)}" '
        f'data-total="{int(result["per_gpu_bytes"])}">'
        f'<div id="chart-donut" class="chart-donut">{parts["donut_svg"]}</div>'
        f'<figcaption id="chart-legend" class="chart-legend">{parts["legend_html"]}</figcaption>'
        f'<div id="chart-capacity" class="chart-capacity"{hidden}>{parts["capacity_svg"]}</div>'
        "</figure>"
    )


def render(
    result: dict[str, Any], gettext: Gettext = untranslated, *, state: str = "initial"
) -> dict[str, str]:
    """Return the view of a result: ``panel_html``, ``chart_html`` and the chart's parts."""
    parts = chart_parts(result, gettext)
    return {
        **parts,
        "panel_html": panel_html(result, gettext),
        "chart_html": _figure(result, parts, state),
    }


_GETTEXTS: dict[str, Gettext] = {}  # request lang -> engine.messages.translator(lang)
# the reply start_json computed, with its op and lang, until finish_json draws and encodes it
_PENDING: list[tuple[dict[str, Any], Any, Any]] = []


def handle_json(request_json: str) -> str:
    """``engine.api.handle`` for the worker, with present/'s view of an ``infer``/``train``
    result attached as ``result.view``, so the page draws it without a second call (the
    page takes it off before it keeps or exports the result). The reply is encoded once."""
    start_json(request_json)
    return finish_json()


def start_json(request_json: str) -> str:
    """The first half of ``handle_json``: the engine answers the request (kept for
    ``finish_json``), and the figure the page shows first comes back at once: the total as
    the panel writes it, ``{"id", "bytes", "text"}`` (``""`` for a reply without a view).
    The worker posts it before the view is drawn, so the number is on screen while the rest
    of the panel is still being written."""
    from engine.api import reply_to

    reply = reply_to(request_json)
    try:
        request = json.loads(request_json)
        op, lang = request.get("op"), request.get("lang")
    except (ValueError, AttributeError):
        op = lang = None
    _PENDING[:] = [(reply, op, lang)]
    if op not in VIEW_OPS or not reply.get("ok"):
        return ""
    total = int(reply["result"]["total_bytes"])
    return json.dumps({"id": reply.get("id"), "bytes": total, "text": format_gib(total)})


def finish_json() -> str:
    """The second half of ``handle_json``: the reply ``start_json`` computed, with its view."""
    from engine.api import encode_reply

    if not _PENDING:
        raise RuntimeError("finish_json without start_json")
    reply, op, lang = _PENDING.pop()
    if op not in VIEW_OPS or not reply.get("ok"):
        return encode_reply(reply)
    from engine.messages import translator

    # the result's engine prose is in ``lang`` already; present/'s own words follow it (one
    # gettext per language, so html_label's cache serves every later request)
    gettext = _GETTEXTS.get(str(lang)) if lang else untranslated
    if gettext is None:
        if len(_GETTEXTS) > 32:  # any string may come in as lang
            _GETTEXTS.clear()
        gettext = _GETTEXTS[str(lang)] = translator(str(lang))
    try:
        view = render(reply["result"], gettext, state="live")
    except Exception as exc:  # a drawing bug is an error reply, never a dead worker
        message = f"internal error while drawing the result: {type(exc).__name__}: {exc}"
        error = {"type": "internal", "message": message, "field": None}
        error["trace"] = traceback.format_exc()
        failed = {"v": reply.get("v"), "id": reply.get("id"), "ok": False, "error": error}
        return encode_reply(failed)
    # a new dict: the result may be an engine cache's own
    return encode_reply({**reply, "result": {**reply["result"], "view": view}})


def export_json(result_json: str, kind: str) -> str:
    """One export of a result on demand (``kind``: json, csv, markdown), for the worker."""
    return export(json.loads(result_json), kind)
