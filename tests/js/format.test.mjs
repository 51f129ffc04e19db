// site/format.js: display formatting that must read exactly like engine/units.py format_gib
// (round-half-even, MiB below 0.1 GiB) and the CLI's token counts.
import assert from "node:assert/strict";
import { test } from "node:test";

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

test("token counts: multiples of 1024 as k, others with thousands separators", () => {
  assert.equal(formatTokens(4096), "4k");
  assert.equal(formatTokens(131072), "128k");
  assert.equal(formatTokens(1536), "1,536");
  assert.equal(formatTokens(1000), "1,000");
  assert.equal(formatTokens(512), "512");
});
