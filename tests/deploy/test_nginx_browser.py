"""The end-to-end smoke tests of tests/browser/, run in Debian Chromium against the real nginx
with deploy/nginx.conf (``server`` is nginx here, see conftest.py): the calculator computes
in Pyodide under nginx's CSP and MIME types, works offline after one visit through the
service worker, every page type loads without console errors, and the 404 page is served.

They are the same test functions, imported, so the two servers are held to one suite."""

from __future__ import annotations

import pytest

from tests.browser.test_site import (
    test_404_page,
    test_changing_inputs_shows_the_engine_numbers,
    test_first_paint_shows_the_baked_figure_then_the_engine_starts,
    test_no_console_errors,
    test_offline_after_one_visit,
)

pytestmark = pytest.mark.browser

__all__ = [
    "test_404_page",
    "test_changing_inputs_shows_the_engine_numbers",
    "test_first_paint_shows_the_baked_figure_then_the_engine_starts",
    "test_no_console_errors",
    "test_offline_after_one_visit",
]


def test_served_by_nginx(nginx, server):
    """Guard: these tests really ran against nginx, not the Python dev server."""
    assert server == nginx.url
    assert nginx.request("/", "HEAD").header("Server") == "nginx"
