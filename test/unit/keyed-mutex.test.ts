import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createKeyedMutex } from "../../src/util/keyed-mutex.js";

describe("createKeyedMutex", () => {
  it("runs tasks of one key one at a time, in arrival order, and other keys alongside", async () => {
    const m = createKeyedMutex();
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const task = (name: string, ms: number) => async () => {
      running++;
      most = Math.max(most, running);
      log.push(`start ${name}`);
      await sleep(ms);
      log.push(`end ${name}`);
      running--;
      return name;
    };
    const results = await Promise.all([
      m.run("k", task("a", 20)),
      m.run("k", task("b", 1)),
      m.run("k", task("c", 1)),
    ]);
    assert.deepEqual(results, ["a", "b", "c"]);
    assert.deepEqual(log, ["start a", "end a", "start b", "end b", "start c", "end c"]);
    assert.equal(most, 1);
    const other: string[] = [];
    await Promise.all([
      m.run("x", async () => {
        await sleep(20);
        other.push("x");
      }),
      m.run("y", async () => {
        other.push("y");
      }),
    ]);
    assert.deepEqual(other, ["y", "x"]);
  });

  it("a failed task rejects its caller only and does not block the key; empty keys are dropped", async () => {
    const m = createKeyedMutex();
    const failed = m.run("k", async () => {
      throw new Error("boom");
    });
    const next = m.run("k", async () => "ok");
    await assert.rejects(failed, /boom/);
    assert.equal(await next, "ok");
    await sleep(0);
    assert.equal(m.size, 0);
  });
});
