"""Hub lookup errors: each an ``EngineError`` with ``field="model"`` and a message that
names what happened and what to do (the CLI prints it on one line, the page beside the
model field)."""

from __future__ import annotations

from ..errors import EngineError


class HubError(EngineError):
    """A Hub lookup failed; ``url`` is the request that failed, when there was one."""

    type_name = "hub_error"

    def __init__(self, message: str, *, field: str | None = "model", url: str = "") -> None:
        super().__init__(message, field=field)
        self.url = url


class HubNotFound(HubError):
    """404: no such repo, revision or file (or a private repo without access)."""

    type_name = "hub_not_found"


class HubGated(HubError):
    """401/403: a gated or private repo and no token, or a token without access."""

    type_name = "hub_gated"


class HubRateLimited(HubError):
    """429: the Hub asks us to slow down."""

    type_name = "hub_rate_limited"


class HubOffline(HubError):
    """No network (or ``HF_HUB_OFFLINE``) and the response is not in the cache."""

    type_name = "hub_offline"


class HubNoModel(HubError):
    """The repo holds no config.json and no GGUF file (a dataset, a LoRA adapter...)."""

    type_name = "hub_no_model"


class HubBadFile(HubError):
    """A header that is oversized, truncated or malformed, or an unexpected response."""

    type_name = "hub_bad_file"


class HubRedirect(HubError):
    """A redirect to a host that is neither the endpoint nor one of its download hosts."""

    type_name = "hub_redirect"


class HubChoice(HubError):
    """The repo holds several GGUF models: the user must pick one (``files`` lists them)."""

    type_name = "hub_choice"

    def __init__(self, message: str, *, files: list[dict] | None = None, url: str = "") -> None:
        super().__init__(message, url=url)
        self.files = files or []
