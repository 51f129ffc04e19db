// The engine's form schema for the JS unit tests: what the build embeds as #form-schema
// (engine.form.page_schema), printed by `python -m engine.form`. Importing this module
// hands it to site/state.js.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { useSchema } from "../../site/state.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const python = process.env.PYTHON || [".venv/bin/python", "python3"].find((p) => p === "python3" || existsSync(`${root}/${p}`));

export const schema = JSON.parse(execFileSync(python, ["-m", "engine.form"], { cwd: root, encoding: "utf-8" }));
useSchema(schema);
