// Display formatting only (no formulas): mirrors engine/units.py format_gib exactly,
// including Python's round-half-even, so live figures read like the baked ones.
const GIB = 1n << 30n;
const MIB = 1n << 20n;

function fixed2(n, unit) {
  // n / unit to two decimals, ties to even, in exact integer arithmetic
  const scaled = n * 100n;
  let q = scaled / unit;
  const r2 = (scaled % unit) * 2n;
  if (r2 > unit || (r2 === unit && q % 2n === 1n)) q += 1n;
  const s = q.toString().padStart(3, "0");
  return `${s.slice(0, -2)}.${s.slice(-2)}`;
}

export function formatGib(bytes) {
  const n = BigInt(bytes);
  if (n < GIB / 10n && n !== 0n) return `${fixed2(n, MIB)} MiB`;
  return `${fixed2(n, GIB)} GiB`;
}

// Mirrors engine/units.py format_tokens: the exact count with thousands separators
// ("131,072"), the one format for contexts in the CLI, the baked pages and here.
export function formatTokens(n) {
  const s = String(n);
  return /^-?\d+$/.test(s) ? s.replace(/\B(?=(\d{3})+(?!\d))/g, ",") : s;
}
