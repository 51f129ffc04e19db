// The start-up snapshot as shipped, and the wasm it is decoded with (sitegen/snapshot.py).
//
// A Pyodide memory image begins with the wasm's own static data (3.8 MB: the data segments
// of pyodide.asm.wasm, as instantiation lays them out, then what start-up changed in them).
// The build ships the image with those bytes XOR'd with the segments, so they are nearly all
// zero and cost some 50 kB on the wire instead of 1.3 MB; the worker XORs the segments back
// in with the wasm bytes it downloads anyway. The wasm is fetched once: `prefetchWasm` starts
// its download at the same moment as the snapshot's and answers Pyodide's own fetch with
// that response (streaming compilation as before), a clone of its body going to `decodeImage`.
// Plain ES module, no DOM: the Node tests decode with it too.

/** Read an unsigned LEB128 at `at`: [value, next offset]. */
export function leb(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

/** Read a signed LEB128 (i32.const): [value, next offset]. */
function sleb(bytes, at) {
  let value = 0;
  let shift = 0;
  let byte;
  do {
    byte = bytes[at++];
    value |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte >= 0x80);
  if (shift < 32 && byte & 0x40) value |= -1 << shift;
  return [value >>> 0, at];
}

/** The active data segments of a wasm module: [memory offset, bytes] each. A segment this
 *  code cannot place (not at an i32.const offset) makes it throw: the caller starts normally. */
export function dataSegments(wasm) {
  const bytes = new Uint8Array(wasm);
  const out = [];
  let at = 8; // magic and version
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, body] = leb(bytes, at + 1);
    if (id === 11) {
      let [count, p] = leb(bytes, body);
      for (; count > 0; count--) {
        let flags;
        [flags, p] = leb(bytes, p);
        if (flags === 1) throw new Error("a passive data segment");
        if (flags === 2) [, p] = leb(bytes, p); // memory index
        if (bytes[p] !== 0x41) throw new Error("a data segment not at an i32.const offset");
        let offset;
        [offset, p] = sleb(bytes, p + 1);
        if (bytes[p] !== 0x0b) throw new Error("a data segment offset is not one constant");
        let length;
        [length, p] = leb(bytes, p + 1);
        out.push([offset, bytes.subarray(p, p + length)]);
        p += length;
      }
      return out;
    }
    at = body + size;
  }
  return out;
}

/** The memory image Pyodide restores: `image` (as shipped) with the wasm's data segments
 *  XOR'd back in, in place. Pyodide's header (its length at bytes 4..8) is left as it is. */
export function decodeImage(image, wasm) {
  const start = new DataView(image.buffer, image.byteOffset, image.byteLength).getUint32(4, true);
  for (const [offset, segment] of dataSegments(wasm)) {
    const at = start + offset;
    if (at + segment.length > image.length) throw new Error("a data segment outside the image");
    for (let i = 0; i < segment.length; i++) image[at + i] ^= segment[i];
  }
  return image;
}

/** Start downloading `url` (the wasm) now, and answer the first `fetch` of `as` (Pyodide's
 *  own fetch of pyodide.asm.wasm, moments later) with that very response: the wasm goes over
 *  the wire once. `url` differs from `as` for the lean wasm (sitegen/lean_wasm.py). Returns
 *  the promise of its bytes, and `release()`: Pyodide's fetch goes to the network after all
 *  (a normal start, which needs the full wasm). */
export function prefetchWasm(url, as = url) {
  const href = new URL(url, self.location.href).href;
  const target = new URL(as, self.location.href).href;
  // Pyodide gets the response itself (its URL lets the browser reuse compiled code on a
  // later start), the image a clone of its body
  const started = fetch(href).then((response) => ({
    response,
    bytes: response.ok ? response.clone().arrayBuffer() : Promise.reject(new Error(`HTTP ${response.status}`)),
  }));
  const nativeFetch = self.fetch;
  const release = () => {
    if (self.fetch === intercept) self.fetch = nativeFetch;
  };
  function intercept(input, init) {
    const asked = new URL(input instanceof Request ? input.url : String(input), self.location.href).href;
    if (asked !== target || (init && init.method && init.method !== "GET")) return nativeFetch.call(this, input, init);
    release(); // once: a later fetch of the wasm is an ordinary one
    return started.then((s) => s.response);
  }
  self.fetch = intercept;
  const bytes = started.then((s) => s.bytes);
  bytes.catch(() => {});
  return { bytes, release };
}

/** Whether a response carries the image as it is on disk (no Content-Encoding, tens of MB):
 *  the host does not send the precompressed files beside it. */
export function sentRaw(response) {
  return !response.headers.has("content-encoding") && Number(response.headers.get("content-length")) > 8 * 2 ** 20;
}

/** The bytes of a `.gz` file (a host that labels it Content-Encoding: gzip has had the
 *  browser inflate it already). */
export async function gunzip(response) {
  const inflated = response.headers.get("content-encoding") === "gzip";
  const body = inflated ? response.body : response.body.pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(body).arrayBuffer());
}
