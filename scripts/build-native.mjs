#!/usr/bin/env node
// Builds the optional native addon build/Release/rcp_splice.node (native/splice.cc) with
// node-gyp; run by `npm ci`/`npm install` (the "install" script) and `npm run build:native`.
// A failed build only warns: the proxy then relays bodies in JS (src/upstream/splice.ts).
// Offline: the headers come from the running Node's own prefix (include/node) when present,
// so node-gyp does not download them.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

if (process.platform !== "linux") {
  console.warn("rcp_splice: not Linux, skipping the native build (the JS relay is used)");
  process.exit(0);
}
if (process.env.RCP_SPLICE === "off") {
  console.warn("rcp_splice: RCP_SPLICE=off, skipping the native build");
  process.exit(0);
}

const prefix = dirname(dirname(process.execPath));
const args = ["rebuild"];
if (existsSync(join(prefix, "include", "node", "node_api.h"))) args.push(`--nodedir=${prefix}`);

// npm names its bundled node-gyp in npm_config_node_gyp; otherwise look next to npm, then on PATH.
const candidates = [
  process.env.npm_config_node_gyp,
  join(prefix, "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
].filter((p) => p && existsSync(p));
const [command, commandArgs] = candidates[0]
  ? [process.execPath, [candidates[0], ...args]]
  : ["node-gyp", args];

const result = spawnSync(command, commandArgs, { stdio: "inherit" });
if (result.status !== 0) {
  console.warn(
    `rcp_splice: native build failed (${result.error?.message ?? `exit ${result.status}`}); ` +
      "blob bodies will be relayed in JS. Install python3, make and g++ and run `npm run build:native`.",
  );
}
process.exit(0);
