"""Component colours and labels, shared by the chart, the legend and the exports."""

from __future__ import annotations

# CSS custom properties with fallbacks, so dark mode can restyle the chart without
# re-rendering it; the fallback colours are the light theme's (WCAG AA on white).
COMPONENT_STYLE: dict[str, tuple[str, str]] = {
    "weights": ("Weights", "var(--c-weights, #2f6fde)"),
    "adapters": ("LoRA adapters", "var(--c-adapters, #8a56d6)"),
    "kv_cache": ("KV cache", "var(--c-kv, #1a9e77)"),
    "activations": ("Activations", "var(--c-act, #e08a00)"),
    "logits": ("Logits", "var(--c-logits, #d4453b)"),
    "gradients": ("Gradients", "var(--c-grads, #c2407e)"),
    "master_weights": ("FP32 master weights", "var(--c-master, #5b6b7d)"),
    "optimizer": ("Optimizer states", "var(--c-opt, #7d5a2c)"),
    "temporaries": ("Temporaries", "var(--c-tmp, #9aa5b1)"),
    "overhead": ("Runtime overhead", "var(--c-overhead, #55606b)"),
}


def label_of(component: str) -> str:
    return COMPONENT_STYLE.get(component, (component.replace("_", " ").capitalize(), ""))[0]


def colour_of(component: str) -> str:
    return COMPONENT_STYLE.get(component, ("", "var(--c-other, #888888)"))[1]
