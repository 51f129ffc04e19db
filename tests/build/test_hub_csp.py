"""The CSP's connect-src for Hub lookups: the endpoint (HF_ENDPOINT at build time) and the
hosts its file downloads redirect to, nothing else."""

from __future__ import annotations

from sitegen.headers import CSP, SECURITY_HEADERS, hub_connect_sources, hub_endpoint, make_csp


def _connect(csp: str) -> list[str]:
    rule = next(r for r in csp.split("; ") if r.startswith("connect-src "))
    return rule.split()[1:]


def test_default_site_connects_to_huggingface_and_its_download_hosts_only():
    assert _connect(make_csp("https://huggingface.co")) == [
        "'self'",
        "https://huggingface.co",
        "https://*.huggingface.co",
        "https://*.hf.co",
    ]
    assert SECURITY_HEADERS["Content-Security-Policy"] == CSP


def test_a_mirror_is_named_alone_with_its_host_on_any_port():
    assert hub_connect_sources("https://hf-mirror.example") == ("https://hf-mirror.example",)
    assert hub_connect_sources("http://127.0.0.1:8123") == (
        "http://127.0.0.1:8123",
        "http://127.0.0.1:*",
    )
    assert _connect(make_csp("https://hf-mirror.example")) == [
        "'self'",
        "https://hf-mirror.example",
    ]


def test_the_endpoint_is_hf_endpoint_as_huggingface_hub_reads_it(monkeypatch):
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert hub_endpoint() == "https://huggingface.co"
    monkeypatch.setenv("HF_ENDPOINT", "https://hf-mirror.example/")
    assert hub_endpoint() == "https://hf-mirror.example"
