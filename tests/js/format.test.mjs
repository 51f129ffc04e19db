// site/format.js: display formatting that must read exactly like engine/units.py format_gib
// (round-half-even, MiB below 0.1 GiB) and engine/units.py format_tokens (the CLI's token counts).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { formatGib, formatTokens } from "../../site/format.js";

const GIB = 2 ** 30;
const MIB = 2 ** 20;

test("whole GiB and MiB", () => {
  assert.equal(formatGib(GIB), "1.00 GiB");
  assert.equal(formatGib(80 * GIB), "80.00 GiB");
  assert.equal(formatGib(MIB), "1.00 MiB");
  assert.equal(formatGib(0), "0.00 GiB");
});

test("ties round half to even, like Python's round()", () => {
  assert.equal(formatGib(GIB / 8), "0.12 GiB"); // 0.125 -> 0.12
  assert.equal(formatGib((3 * GIB) / 8), "0.38 GiB"); // 0.375 -> 0.38
  assert.equal(formatGib(MIB / 8), "0.12 MiB");
  assert.equal(formatGib((3 * MIB) / 8), "0.38 MiB");
  assert.equal(formatGib(GIB + GIB / 8), "1.12 GiB");
});

test("MiB below a tenth of a GiB, GiB from there on", () => {
  const tenth = 107374182; // GIB / 10, integer division
  assert.equal(formatGib(tenth - 1), "102.40 MiB");
  assert.equal(formatGib(tenth), "0.10 GiB");
});

test("exact beyond 2**53 (strings and BigInts)", () => {
  assert.equal(formatGib("9007199254740993"), "8388608.00 GiB");
  assert.equal(formatGib(1n << 40n), "1024.00 GiB");
  assert.equal(formatGib("1073741824"), "1.00 GiB");
});

const TOKEN_COUNTS = [0, 1, 512, 999, 1000, 1024, 1536, 4096, 8192, 32768, 56576, 100000, 131072, 1048576, 10000000];

test("token counts: the exact figure with thousands separators, never '128k'", () => {
  assert.equal(formatTokens(4096), "4,096");
  assert.equal(formatTokens(131072), "131,072");
  assert.equal(formatTokens(56576), "56,576");
  assert.equal(formatTokens(1000), "1,000");
  assert.equal(formatTokens(512), "512");
  assert.equal(formatTokens(0), "0");
  assert.equal(formatTokens(1048576), "1,048,576");
  assert.equal(formatTokens(-1000), "-1,000");
  assert.equal(formatTokens("8192"), "8,192"); // a figure read from a URL
  assert.equal(formatTokens("8k"), "8k"); // not a count: shown as typed
});

test("token counts read exactly like engine/units.py format_tokens (the CLI and the pages)", (t) => {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const code = "import json,sys; from engine.units import format_tokens; "
    + "print(json.dumps([format_tokens(n) for n in json.loads(sys.argv[1])]))";
  const python = [join(root, ".venv", "bin", "python"), "python3"].find((p) => p === "python3" || existsSync(p));
  let out;
  try {
    out = execFileSync(python, ["-c", code, JSON.stringify(TOKEN_COUNTS)], { cwd: root, encoding: "utf8" });
  } catch (err) {
    t.skip(`no Python to compare with (${err.code ?? err.message})`);
    return;
  }
  assert.deepEqual(TOKEN_COUNTS.map(formatTokens), JSON.parse(out));
});
