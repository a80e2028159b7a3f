import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger } from "../../src/ops/logger.js";
import { createRepairQueue, type PendingRepair, repairDelay, repairsNote } from "../../src/tags/repairs.js";

describe("background repairs of unfinished tag deletes", () => {
  it("repairDelay: 1 s doubling per attempt, capped, jittered ±25%", () => {
    const mid = () => 0.5;
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 40].map((n) => repairDelay(n, 30_000, mid)),
      [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000],
    );
    assert.equal(
      repairDelay(0, 30_000, () => 0),
      750,
    );
    assert.equal(
      repairDelay(10, 30_000, () => 0.999999),
      37_500,
    );
    assert.equal(repairDelay(3, 500, mid), 500);
  });

  it("repairsNote names each tag with its reason (at most 20), empty when nothing waits", () => {
    assert.equal(repairsNote([]), "");
    const p = (i: number): PendingRepair => ({
      id: `id${i}`,
      repository: "r/app",
      tag: `t${i}`,
      reason: "ECONNREFUSED",
      attempts: 1,
      since: 0,
    });
    const note = repairsNote(Array.from({ length: 22 }, (_, i) => p(i)));
    assert.match(note, /^22 unfinished tag delete\(s\)/);
    assert.match(note, /r\/app:t0 \(ECONNREFUSED\)/);
    assert.doesNotMatch(note, /r\/app:t20 /);
    assert.match(note, /and 2 more$/);
  });

  it("an entry is tried until done, one attempt at a time; onChange reports it until then", async () => {
    const seen: number[] = [];
    let calls = 0;
    // The queue's timers do not hold the process open (unref): this one does, for the test.
    const alive = setInterval(() => {}, 1000);
    const done = new Promise<void>((resolve) => {
      const queue = createRepairQueue({
        maxDelayMs: 100,
        logger: createLogger("silent"),
        async complete() {
          calls++;
          return calls < 3 ? "upstream unreachable" : null;
        },
        onChange(pending) {
          seen.push(pending.length);
          if (pending.length === 0) {
            queue.close();
            resolve();
          }
        },
      });
      queue.add({ id: "x", repository: "r", tag: "t" }, "delete-tombstone failed");
      queue.add({ id: "x", repository: "r", tag: "t" }, "again");
    });
    await done;
    clearInterval(alive);
    assert.equal(calls, 3);
    assert.equal(seen.at(-1), 0);
    assert.ok(seen.slice(0, -1).every((n) => n === 1));
  });
});
