// Drive engine.hub.session inside Pyodide under Node, with fetch, as the browser worker does:
//   node tests/hub/run_hub_pyodide.mjs <wheel> <endpoint> <input>...
// prints a JSON list of the final replies (one per input).
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPyodide } from "pyodide";

const [wheelPath, endpoint, ...inputs] = process.argv.slice(2);
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const pyodide = await loadPyodide({ indexURL: join(root, "node_modules", "pyodide") + "/" });
pyodide.unpackArchive(new Uint8Array(await readFile(wheelPath)), "wheel");
const hub = pyodide.pyimport("engine.hub.session");

async function lookup(input) {
  let reply = JSON.parse(hub.hub_start(JSON.stringify({ input, endpoint, token: false })));
  while (reply.ok && !reply.done) {
    const sid = reply.session;
    const answers = await Promise.all(
      reply.requests.map(async (req) => {
        const resp = await fetch(req.url, { headers: req.headers, redirect: "follow" });
        const body = new Uint8Array(await resp.arrayBuffer());
        return { req, resp, body };
      }),
    );
    for (const { req, resp, body } of answers) {
      const headers = JSON.stringify(Object.fromEntries(resp.headers.entries()));
      reply = JSON.parse(hub.hub_feed(sid, req.key, resp.status, headers, body, resp.url));
      if (!reply.ok || reply.done) break;
    }
  }
  return reply;
}

const out = [];
for (const input of inputs) out.push(await lookup(input));
process.stdout.write(JSON.stringify(out));
