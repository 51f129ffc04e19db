// The browser worker's catalog hand-over (site/worker.js useIndex/ensureModel), for the Node
// runners: the wheel carries the default model only, so when it sits in a built site
// (<site>/wheels/<hash>/<file>) the engine gets the catalog index at start and each model's
// file before a request names it. Returns a function to call before each request.
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";

export async function feedCatalog(pyodide, wheelOrData) {
  const site = join(dirname(wheelOrData), "..", "..");
  const index = (await readdir(join(site, "assets")).catch(() => [])).find((n) => /^catalog\.[0-9a-f]+\.json$/.test(n));
  if (!index) return async () => {};
  const catalog = pyodide.pyimport("engine.catalog");
  catalog.use_index(await readFile(join(site, "assets", index), "utf8"));
  return async (req) => {
    const url = catalog.model_to_fetch(req && req.args && req.args.model);
    if (!url) return;
    const slug = url.split("/").pop().replace(/\.[0-9a-f]+\.json$/, "");
    catalog.add_model(slug, await readFile(join(site, url), "utf8"));
  };
}
