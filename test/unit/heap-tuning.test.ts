/**
 * The V8 flags the proxy sets on itself at start (src/ops/heap-tuning.ts): the
 * heap growing factor and Liftoff-only WebAssembly everywhere, the scavenger's
 * new-space capacity from V8 13 (Node 24) on, and never a flag the operator gave
 * on Node's command line.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { HEAP_GROWING_PERCENT, heapFlags, SCAVENGER_MAX_NEW_SPACE_MB } from "../../src/ops/heap-tuning.js";

const GROWING = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
const SCAVENGER = `--scavenger-max-new-space-capacity-mb=${SCAVENGER_MAX_NEW_SPACE_MB}`;
const LIFTOFF = "--liftoff-only";
const NODE_20_V8 = "11.3.244.8-node.33";
const NODE_24_V8 = "13.6.233.17-node.40";

describe("V8 flags set at start", () => {
  it("on Node 20's V8 11: the growing factor and Liftoff-only, no scavenger flag (V8 11 has none)", () => {
    assert.deepEqual(heapFlags(NODE_20_V8, []), [GROWING, LIFTOFF]);
  });

  it("on Node 24's V8 13.6: all three", () => {
    assert.deepEqual(heapFlags(NODE_24_V8, []), [GROWING, LIFTOFF, SCAVENGER]);
  });

  it("leaves a flag the operator gave on the command line, in either spelling", () => {
    assert.deepEqual(heapFlags(NODE_24_V8, ["--heap-growing-percent=100"]), [LIFTOFF, SCAVENGER]);
    assert.deepEqual(heapFlags(NODE_24_V8, ["--scavenger_max_new_space_capacity_mb=16"]), [GROWING, LIFTOFF]);
    assert.deepEqual(heapFlags(NODE_24_V8, ["--no-liftoff-only"]), [GROWING, SCAVENGER]);
    assert.deepEqual(heapFlags(NODE_24_V8, ["--max-semi-space-size=16"]), [GROWING, LIFTOFF, SCAVENGER]);
  });

  it("every flag it sets on this Node is one this V8 knows (no 'unrecognized flag' at start)", () => {
    const flags = heapFlags(process.versions.v8, []);
    const r = spawnSync(process.execPath, [...flags, "-e", "0"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "");
  });
});
