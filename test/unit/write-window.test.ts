import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createWriteWindow, isWindowWrite } from "../../src/ops/write-window.js";

function clocked(maxLeaseMs = 60_000) {
  let t = 1_000_000;
  const changes: string[] = [];
  const window = createWriteWindow({
    now: () => t,
    maxLeaseMs,
    onChange: (readOnly, why) => changes.push(`${readOnly}:${why}`),
  });
  return { window, changes, advance: (ms: number) => (t += ms) };
}

describe("the read-only window (pure state, injected clock)", () => {
  it("a lease adopted from another replica closes it, expires on this clock, and a drop of another id changes nothing", () => {
    const { window, changes, advance } = clocked();
    window.adopt({ id: "l1", holder: "gc", enteredAt: 0, expiresAt: 1_000_000 + 5000 });
    assert.equal(window.readOnly(), true);
    assert.equal(window.isHolder("l1"), true);
    window.adopt({ id: "l1", holder: "gc", enteredAt: 0, expiresAt: 1_000_000 + 9000 }); // renewed
    window.drop("other");
    advance(6000);
    assert.equal(window.readOnly(), true);
    window.drop("l1");
    assert.equal(window.readOnly(), false);
    window.adopt({ id: "l2", holder: "gc", enteredAt: 0, expiresAt: 1_000_000 + 7000 });
    advance(2000);
    assert.equal(window.readOnly(), false);
    assert.deepEqual(changes, ["true:entered", "false:left", "true:entered", "false:expired"]);
  });

  it("settle waits for the writes in flight and names those still running when the wait ends", async () => {
    const { window } = clocked();
    const end = window.beginWrite("PATCH", "/v2/a/blobs/uploads/x");
    const settled = window.settle(60_000);
    end();
    assert.deepEqual(await settled, []);
    window.beginWrite("PUT", "/v2/a/manifests/t");
    assert.deepEqual(
      (await window.settle(1)).map((w) => w.method),
      ["PUT"],
    );
  });

  it("enter closes it, leave with the lease opens it; a wrong token changes nothing", async () => {
    const { window, changes } = clocked();
    assert.equal(window.readOnly(), false);
    const entered = await window.enter("gc", 10_000, 0);
    assert.ok(entered.ok);
    assert.equal(window.readOnly(), true);
    assert.equal(window.isHolder(entered.lease.id), true);
    assert.equal(window.isHolder("other"), false);
    assert.equal(window.leave("other"), false);
    assert.equal(window.readOnly(), true);
    assert.equal(window.leave(entered.lease.id), true);
    assert.equal(window.readOnly(), false);
    assert.deepEqual(changes, ["true:entered", "false:left"]);
  });

  it("a lease that is not renewed expires by itself; renewing keeps it", async () => {
    const { window, changes, advance } = clocked();
    const entered = await window.enter("gc", 10_000, 0);
    assert.ok(entered.ok);
    advance(9_000);
    assert.ok(window.renew(entered.lease.id, 10_000));
    advance(9_000);
    assert.equal(window.readOnly(), true);
    assert.equal(window.retryAfterSeconds(), 1);
    advance(1_000);
    assert.equal(window.readOnly(), false);
    assert.equal(window.renew(entered.lease.id, 10_000), null);
    assert.deepEqual(changes, ["true:entered", "false:expired"]);
  });

  it("a second holder is refused while a lease is live, and the lease is capped at maxLeaseMs", async () => {
    const { window, advance } = clocked(5_000);
    const first = await window.enter("one", 3_600_000, 0);
    assert.ok(first.ok);
    assert.equal(first.lease.expiresAt - first.lease.enteredAt, 5_000);
    const second = await window.enter("two", 1_000, 0);
    assert.deepEqual(second, { ok: false, heldBy: "one", expiresAt: first.lease.expiresAt });
    advance(5_000);
    assert.ok((await window.enter("two", 1_000, 0)).ok);
  });

  it("entering waits for writes in flight, and reports those it gave up on", async () => {
    const { window } = clocked();
    const doneA = window.beginWrite("PUT", "/v2/a/manifests/x");
    window.beginWrite("PATCH", "/v2/b/blobs/uploads/u");
    setImmediate(doneA);
    const entered = await window.enter("gc", 10_000, 50);
    assert.ok(entered.ok);
    assert.deepEqual(
      entered.gaveUpOn.map((w) => `${w.method} ${w.path}`),
      ["PATCH /v2/b/blobs/uploads/u"],
    );
    assert.equal(window.state().inFlightWrites.length, 1);
  });

  it("entering with every write finished resolves when the last one ends", async () => {
    const { window } = clocked();
    const done = window.beginWrite("POST", "/v2/a/blobs/uploads/");
    const entering = window.enter("gc", 10_000, 3_600_000);
    done();
    const entered = await entering;
    assert.ok(entered.ok);
    assert.deepEqual(entered.gaveUpOn, []);
  });

  it("the lease runs from the end of the wait, and Retry-After is capped at 30 s", async () => {
    let t = 0;
    const window = createWriteWindow({ now: () => t, maxLeaseMs: 600_000 });
    const done = window.beginWrite("PUT", "/v2/a/manifests/x");
    const entering = window.enter("gc", 1_000, 3_600_000);
    t = 5_000;
    assert.equal(window.readOnly(), true, "not expired while waiting");
    done();
    const entered = await entering;
    assert.ok(entered.ok);
    assert.equal(entered.lease.expiresAt, 6_000);
    const long = createWriteWindow({ now: () => t, maxLeaseMs: 600_000 });
    await long.enter("gc", 600_000, 0);
    assert.equal(long.retryAfterSeconds(), 30);
  });

  it("state never shows the lease token", async () => {
    const { window } = clocked();
    await window.enter("gc", 10_000, 0);
    assert.equal(JSON.stringify(window.state()).includes('"id"'), false);
    assert.equal(window.state().lease?.holder, "gc");
  });
});

describe("isWindowWrite", () => {
  const cases: [string, string, boolean][] = [
    ["upload-start", "POST", true],
    ["upload", "PATCH", true],
    ["upload", "PUT", true],
    ["upload", "GET", false],
    ["manifest", "PUT", true],
    ["manifest", "GET", false],
    ["manifest", "HEAD", false],
    ["manifest", "DELETE", true],
    ["tag", "DELETE", true],
    ["blob", "DELETE", true],
    ["blob", "GET", false],
    ["tags-list", "GET", false],
    ["v2-other", "DELETE", true],
    ["non-api", "DELETE", false],
    ["invalid", "PUT", false],
  ];
  for (const [kind, method, expected] of cases) {
    it(`${method} ${kind} → ${expected ? "held" : "served"}`, () => {
      assert.equal(isWindowWrite(kind, method), expected);
    });
  }
});
