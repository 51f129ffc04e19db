// Share: a link that reproduces the calculation (the URL state; a pasted config.json rides
// along base64url-encoded in `cfg`), a copy button, and the Web Share API where it exists.
import { announce } from "./dom.js";
import { t } from "./i18n.js";
import { localPath } from "./paths.js";

function toBase64Url(text) {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(b64 + "===".slice((b64.length + 3) % 4));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

function compact(config) {
  try {
    return JSON.stringify(JSON.parse(config));
  } catch {
    return config; // malformed JSON is shared as typed, so the recipient sees the same error
  }
}

/** The absolute link for a state. */
export function shareUrl(ctx, state = ctx.state) {
  const params = new URLSearchParams(ctx.search(state).slice(1));
  if (state.model === "custom" && state.config) params.set("cfg", toBase64Url(compact(state.config)));
  const query = params.toString();
  return `${location.origin}${localPath("/")}${query ? `?${query}` : ""}`;
}

/** A shared link carrying `cfg`: put the config into the form (app.js computes it). */
export function readSharedConfig(ctx) {
  const cfg = new URLSearchParams(location.search).get("cfg");
  if (!cfg || ctx.state.model !== "custom") return;
  let text;
  try {
    text = fromBase64Url(cfg);
  } catch {
    return;
  }
  const box = ctx.form.elements.namedItem("config");
  box.value = text;
  box.dispatchEvent(new Event("input", { bubbles: true }));
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

export function initShare(ctx) {
  const input = document.getElementById("share-url");
  const copy = document.getElementById("share-copy");
  const native = document.getElementById("share-native");
  const status = document.getElementById("share-status");
  if (!input) return;
  const refresh = () => {
    input.value = shareUrl(ctx);
  };
  refresh();
  ctx.onResult(refresh);
  ctx.form.addEventListener("change", () => setTimeout(refresh));

  ctx.copyLink = async () => {
    refresh();
    const ok = await copyText(input.value);
    if (!ok) {
      input.focus();
      input.select(); // the user can press Ctrl+C
    }
    announce(status, ok ? t("Link copied") : t("Press Ctrl+C to copy the selected link"));
    return ok;
  };
  copy.addEventListener("click", ctx.copyLink);

  if (typeof navigator.share === "function") {
    native.hidden = false;
    native.addEventListener("click", async () => {
      refresh();
      try {
        await navigator.share({ title: document.title, text: document.getElementById("result-meta")?.textContent || "", url: input.value });
      } catch (err) {
        if (err.name !== "AbortError") announce(status, t("Could not share: %(reason)s", { reason: err.message }));
      }
    });
  }
  input.addEventListener("focus", () => input.select());
}
