import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { localTagLocks, PhaseLock } from "../../src/tags/locks.js";

const tick = () => new Promise((r) => setImmediate(r));

describe("localTagLocks (one proxy, on the keyed mutex)", () => {
  it("runs holders of one key one at a time, in arrival order", async () => {
    const m = localTagLocks();
    const order: string[] = [];
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      ["a", "b", "c", "d"].map((name) =>
        m.run("k", async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          order.push(name);
          await tick();
          inside--;
        }),
      ),
    );
    assert.equal(maxInside, 1);
    assert.deepEqual(order, ["a", "b", "c", "d"]);
  });

  it("lets different keys run together", async () => {
    const m = localTagLocks();
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      ["a", "b", "c"].map((k) =>
        m.run(k, async () => {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await tick();
          inside--;
        }),
      ),
    );
    assert.equal(maxInside, 3);
  });

  it("gives its holders no lease (no replicas to fence against)", async () => {
    assert.equal(await localTagLocks().run("k", async (lease) => lease), null);
  });

  it("releases the key when the holder throws", async () => {
    const m = localTagLocks();
    await assert.rejects(m.run("k", async () => Promise.reject(new Error("boom"))));
    assert.equal(await m.run("k", async () => 1), 1);
  });
});

describe("PhaseLock", () => {
  it("admits many holders of one phase together", async () => {
    const l = new PhaseLock();
    const releases = await Promise.all(Array.from({ length: 5 }, () => l.acquire("repo", "delete")));
    assert.equal(releases.length, 5);
    for (const r of releases) r();
    assert.equal(l.size, 0);
  });

  it("never overlaps a put phase and a delete phase in one repository", async () => {
    const l = new PhaseLock();
    const active = { put: 0, delete: 0 };
    let overlap = false;
    const work = (phase: "put" | "delete") =>
      l.run("repo", phase, async () => {
        active[phase]++;
        if (active.put > 0 && active.delete > 0) overlap = true;
        await tick();
        await tick();
        active[phase]--;
      });
    await Promise.all(Array.from({ length: 60 }, (_, i) => work(i % 3 === 0 ? "put" : "delete")));
    assert.equal(overlap, false);
    assert.equal(l.size, 0);
  });

  it("does not starve a waiting phase: newcomers of the running phase queue behind it", async () => {
    const l = new PhaseLock();
    const events: string[] = [];
    const p1 = await l.acquire("repo", "put");
    const d = l.acquire("repo", "delete").then((r) => {
      events.push("delete");
      return r;
    });
    const p2 = l.acquire("repo", "put").then((r) => {
      events.push("put2");
      return r;
    });
    await tick();
    assert.deepEqual(events, []);
    p1();
    const rd = await d;
    await tick();
    assert.deepEqual(events, ["delete"]);
    rd();
    (await p2)();
    assert.deepEqual(events, ["delete", "put2"]);
    assert.equal(l.size, 0);
  });

  it("keeps repositories independent", async () => {
    const l = new PhaseLock();
    const a = await l.acquire("a", "put");
    const b = await l.acquire("b", "delete");
    a();
    b();
    assert.equal(l.size, 0);
  });
});
