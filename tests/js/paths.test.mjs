// site/paths.js: links stay in the page's language (<html data-lang-prefix>, set by the build).
import assert from "node:assert/strict";
import { test } from "node:test";

// paths.js reads the prefix once, when it loads: each case imports its own module instance.
async function load(prefix) {
  globalThis.document = { documentElement: { dataset: prefix === undefined ? {} : { langPrefix: prefix } } };
  try {
    return await import(`../../site/paths.js?prefix=${prefix}`);
  } finally {
    delete globalThis.document;
  }
}

test("a Chinese page links under /zh", async () => {
  const { LANG_PREFIX, localPath } = await load("/zh");
  assert.equal(LANG_PREFIX, "/zh");
  assert.equal(localPath("/"), "/zh/");
  assert.equal(localPath("/?model=llama-3-8b"), "/zh/?model=llama-3-8b");
  assert.equal(localPath("/models/"), "/zh/models/");
});

test("an English page (no prefix) links at the root", async () => {
  const { LANG_PREFIX, localPath } = await load(undefined);
  assert.equal(LANG_PREFIX, "");
  assert.equal(localPath("/gpus/"), "/gpus/");
});
