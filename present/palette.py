"""Component colours, shared by the chart and its legend (labels: ``present.labels``)."""

from __future__ import annotations

# CSS custom properties with fallbacks, so dark mode can restyle the chart without
# re-rendering it; the fallback colours are the light theme's (WCAG AA on white).
COMPONENT_COLOURS: dict[str, str] = {
    "weights": "var(--c-weights, #2f6fde)",
    "adapters": "var(--c-adapters, #8a56d6)",
    "kv_cache": "var(--c-kv, #1a9e77)",
    "activations": "var(--c-act, #e08a00)",
    "logits": "var(--c-logits, #d4453b)",
    "gradients": "var(--c-grads, #c2407e)",
    "master_weights": "var(--c-master, #5b6b7d)",
    "optimizer": "var(--c-opt, #7d5a2c)",
    "temporaries": "var(--c-tmp, #9aa5b1)",
    "overhead": "var(--c-overhead, #55606b)",
    "allocator": "var(--c-alloc, #a8956b)",
}


def colour_of(component: str) -> str:
    return COMPONENT_COLOURS.get(component, "var(--c-other, #888888)")
