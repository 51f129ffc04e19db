"""Small text fixes on the built pages (issue 15): spacing around "·" in a model page's
lede, and the GPU page names the marketing memory figure as one."""

from __future__ import annotations

import re
from pathlib import Path


def _text(path: Path) -> str:
    html = path.read_text()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_model_lede_has_a_space_before_every_dot(site_dir: Path):
    for page in sorted((site_dir / "models").glob("*/index.html"))[:40]:
        lede = re.search(r'<p class="lede">(.*?)</p>', page.read_text(), re.S)
        assert lede, page
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", lede.group(1)))
        assert not re.search(r"\S·", text), (page, text)


def test_gpu_page_says_which_memory_figure_is_the_marketing_one(site_dir: Path):
    text = _text(site_dir / "gpus" / "rtx-4090" / "index.html")
    assert "24.00 GiB (sold as “24 GB”)" in text
    assert "24.00 GiB 24 GB" not in text
    assert "（标称“24 GB”）" in _text(site_dir / "zh" / "gpus" / "rtx-4090" / "index.html")
