"""Model pages show a multimodal checkpoint's language model alone (``text_total``) beside
its total, as ``vram params --json`` reports both (issue 11); text-only models show one."""

from __future__ import annotations

from engine.api import params_summary
from engine.catalog import load_model


def _params_table(html: str) -> str:
    return html.split('id="params"', 1)[1].split("</table>", 1)[0]


def test_multimodal_page_shows_total_and_text_total(site_dir):
    summary = params_summary(load_model("qwen3-vl-2b-instruct"))
    assert 0 < summary["text_total"] < summary["total"]
    for lang, label in (("", "Language model alone"), ("zh/", "仅语言模型")):
        table = _params_table(
            (site_dir / lang / "models" / "qwen3-vl-2b-instruct" / "index.html").read_text()
        )
        assert f'data-count="{summary["total"]}"' in table
        assert f'data-count="{summary["text_total"]}"' in table
        assert f"{summary['text_total']:,}" in table and label in table


def test_text_only_page_has_no_text_total_row(site_dir):
    assert "text_total" not in params_summary(load_model("qwen3-8b"))
    table = _params_table((site_dir / "models" / "qwen3-8b" / "index.html").read_text())
    assert "Language model alone" not in table
