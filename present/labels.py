"""The words present/ writes about a result: one label per memory component, and the
panel's fixed phrases. Every value is an English msgid; the build translates it with the
page's gettext catalog (``locale/``), the live page with its own strings table, so the
chart, the table, the exports and the templates all say the same thing.
"""

from __future__ import annotations

from collections.abc import Callable

Gettext = Callable[[str], str]

# One label per engine component (``engine.result.COMPONENT_NAMES``), in that order.
COMPONENT_LABELS: dict[str, str] = {
    "weights": "Weights",
    "adapters": "Adapters (LoRA)",
    "kv_cache": "KV cache",
    "activations": "Activations",
    "logits": "Logits",
    "gradients": "Gradients",
    "master_weights": "Master weights (fp32)",
    "optimizer": "Optimizer states",
    "temporaries": "Temporary buffers",
    "overhead": "Runtime overhead",
    "allocator": "PyTorch allocator (reserved)",
}


def untranslated(msgid: str) -> str:
    """The identity gettext: English, the msgid itself."""
    return msgid


def label_of(component: str, gettext: Gettext = untranslated) -> str:
    """Return the display label of a component (an unknown name is capitalised as is)."""
    msgid = COMPONENT_LABELS.get(component)
    return gettext(msgid) if msgid else component.replace("_", " ").capitalize()
