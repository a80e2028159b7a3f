/**
 * spliceBody (src/upstream/splice.ts + native/splice.cc) over real loopback TCP:
 *   sender ──TCP── from ══splice══ to ──TCP── receiver
 * Skipped only when the addon is not built (`npm run build:native`).
 */
import assert from "node:assert/strict";
import { createHash, randomFillSync } from "node:crypto";
import { once } from "node:events";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type SpliceError, spliceAvailable, spliceBody } from "../../src/upstream/splice.js";
import { collect, sendBytes, withRig } from "../helpers/socket-rig.js";

const skip = spliceAvailable() ? false : "rcp_splice addon not built (npm run build:native)";
const MiB = 1024 * 1024;
function fdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

async function rejection(p: Promise<unknown>): Promise<SpliceError> {
  try {
    await p;
  } catch (err) {
    return err as SpliceError;
  }
  assert.fail("expected spliceBody to reject");
}

for (const size of [1, 64 * 1024, MiB + 1, 256 * MiB]) {
  test(`spliceBody moves exactly ${size} bytes intact (sha256)`, { skip, timeout: 60_000 }, async () => {
    await withRig(async (rig) => {
      const received = collect(rig.receiver);
      const moved = spliceBody(rig.from, rig.to, size, { idleTimeoutMs: 10_000 });
      const sent = await sendBytes(rig.sender, size);
      assert.equal(await moved, size);
      await received.until(size);
      assert.equal(received.bytes(), size);
      assert.equal(received.digest(), sent);
    });
  });
}

test("spliceBody leaves bytes after length on the input socket, which reads its next message", {
  skip,
  timeout: 60_000,
}, async () => {
  await withRig(async (rig) => {
    const received = collect(rig.receiver);
    const body = randomFillSync(Buffer.alloc(2 * MiB));
    const moved = spliceBody(rig.from, rig.to, body.length, { idleTimeoutMs: 10_000 });
    rig.sender.write(Buffer.concat([body, Buffer.from("NEXT MESSAGE")]));
    assert.equal(await moved, body.length);
    const [next] = (await once(rig.from, "data")) as [Buffer];
    assert.equal(next.toString(), "NEXT MESSAGE");
    await received.until(body.length);
    await sleep(50);
    assert.equal(received.bytes(), body.length);
    assert.equal(received.digest(), createHash("sha256").update(body).digest("hex"));
    // Keep-alive: a second body over the same two sockets.
    const again = spliceBody(rig.from, rig.to, 1000, { idleTimeoutMs: 10_000 });
    rig.sender.write(Buffer.alloc(1000, 7));
    assert.equal(await again, 1000);
    await received.until(body.length + 1000);
  });
});

test("spliceBody started from a 'data' handler (head read in JS) gets the whole body", {
  skip,
  timeout: 60_000,
}, async () => {
  await withRig(async (rig) => {
    const received = collect(rig.receiver);
    const size = 32 * MiB;
    // As a relay does: the response head arrives in JS, the body is spliced from inside the handler.
    const moved = new Promise<number>((resolve, reject) => {
      rig.from.once("data", () =>
        spliceBody(rig.from, rig.to, size, { idleTimeoutMs: 10_000 }).then(resolve, reject),
      );
    });
    rig.sender.write("HTTP/1.1 200 OK\r\n\r\n");
    await sleep(20);
    const sent = await sendBytes(rig.sender, size);
    assert.equal(await moved, size);
    await received.until(size);
    assert.equal(received.digest(), sent);
    assert.equal(rig.from.readableLength, 0, "no body bytes were read in JS");
  });
});

test("spliceBody waits for pending writes on the output socket and keeps the order", {
  skip,
  timeout: 60_000,
}, async () => {
  await withRig(async (rig) => {
    rig.receiver.pause();
    const prefix = randomFillSync(Buffer.alloc(8 * MiB));
    rig.to.write(prefix);
    const body = randomFillSync(Buffer.alloc(3 * MiB));
    const moved = spliceBody(rig.from, rig.to, body.length, { idleTimeoutMs: 10_000 });
    rig.sender.write(body);
    await sleep(100);
    const received = collect(rig.receiver);
    rig.receiver.resume();
    assert.equal(await moved, body.length);
    await received.until(prefix.length + body.length);
    const expected = createHash("sha256").update(prefix).update(body).digest("hex");
    assert.equal(received.digest(), expected);
  });
});

test("spliceBody completes when the receiver pauses for a while, then reads", {
  skip,
  timeout: 60_000,
}, async () => {
  await withRig(async (rig) => {
    rig.receiver.pause();
    const size = 16 * MiB;
    const moved = spliceBody(rig.from, rig.to, size, { idleTimeoutMs: 10_000 });
    const sent = sendBytes(rig.sender, size);
    await sleep(300);
    const received = collect(rig.receiver);
    rig.receiver.resume();
    assert.equal(await moved, size);
    await received.until(size);
    assert.equal(received.digest(), await sent);
  });
});

test("spliceBody rejects ERR_PREMATURE_EOF with bytesMoved when the sender ends early", {
  skip,
  timeout: 60_000,
}, async () => {
  await withRig(async (rig) => {
    const received = collect(rig.receiver);
    const moved = spliceBody(rig.from, rig.to, MiB, { idleTimeoutMs: 10_000 });
    rig.sender.end(Buffer.alloc(100_000, 1));
    const err = await rejection(moved);
    assert.equal(err.code, "ERR_PREMATURE_EOF");
    assert.equal(err.bytesMoved, 100_000);
    await received.until(100_000);
    assert.equal(rig.to.destroyed, false, "the output socket stays open");
  });
});

test("spliceBody rejects ECONNRESET/EPIPE soon after the receiver resets mid-way", {
  skip,
  timeout: 60_000,
}, async () => {
  await withRig(async (rig) => {
    const received = collect(rig.receiver);
    const moved = spliceBody(rig.from, rig.to, 256 * MiB, { idleTimeoutMs: 30_000 });
    void sendBytes(rig.sender, 256 * MiB);
    await received.until(MiB);
    const t0 = Date.now();
    rig.receiver.resetAndDestroy();
    const err = await rejection(moved);
    assert.ok(["ECONNRESET", "EPIPE"].includes(err.code), `code ${err.code}`);
    assert.ok(err.bytesMoved >= MiB && err.bytesMoved < 256 * MiB, `bytesMoved ${err.bytesMoved}`);
    assert.ok(Date.now() - t0 < 5_000, "fails within seconds");
  });
});

test("spliceBody rejects ETIMEDOUT when nothing moves for idleTimeoutMs", {
  skip,
  timeout: 60_000,
}, async () => {
  await withRig(async (rig) => {
    const moved = spliceBody(rig.from, rig.to, MiB, { idleTimeoutMs: 200 });
    rig.sender.write(Buffer.alloc(1024, 2));
    const err = await rejection(moved);
    assert.equal(err.code, "ETIMEDOUT");
    assert.equal(err.bytesMoved, 1024);
  });
});

for (const side of ["from", "to"] as const) {
  test(`spliceBody rejects ECANCELED when the ${side} socket is destroyed in JS`, {
    skip,
    timeout: 60_000,
  }, async () => {
    await withRig(async (rig) => {
      const moved = spliceBody(rig.from, rig.to, 64 * MiB, { idleTimeoutMs: 0 });
      rig.sender.write(Buffer.alloc(64 * 1024, 3));
      await sleep(50);
      rig[side].destroy();
      const err = await rejection(moved);
      assert.equal(err.code, "ECANCELED");
      assert.equal(err.bytesMoved, 64 * 1024);
    });
  });
}

test("spliceBody refuses an input socket with body bytes already buffered in JS", {
  skip,
  timeout: 60_000,
}, async () => {
  await withRig(async (rig) => {
    rig.from.pause();
    rig.sender.write("early");
    await once(rig.from, "readable");
    const err = await rejection(spliceBody(rig.from, rig.to, 10, { idleTimeoutMs: 0 }));
    assert.equal(err.code, "ERR_SPLICE_BUFFERED");
  });
});

test("spliceBody closes every descriptor it opened, on success and on failure", {
  skip,
  timeout: 60_000,
}, async () => {
  await withRig(async (rig) => {
    const before = fdCount();
    const moved = spliceBody(rig.from, rig.to, 5 * MiB, { idleTimeoutMs: 10_000 });
    collect(rig.receiver);
    await sendBytes(rig.sender, 5 * MiB);
    assert.equal(await moved, 5 * MiB);
    assert.equal(fdCount(), before, "after a complete transfer");
    const failing = spliceBody(rig.from, rig.to, MiB, { idleTimeoutMs: 100 });
    assert.equal((await rejection(failing)).code, "ETIMEDOUT");
    assert.equal(fdCount(), before, "after a failed transfer");
  });
});

test("RCP_SPLICE=off makes spliceAvailable() false", () => {
  const saved = process.env["RCP_SPLICE"];
  process.env["RCP_SPLICE"] = "off";
  try {
    assert.equal(spliceAvailable(), false);
  } finally {
    if (saved === undefined) delete process.env["RCP_SPLICE"];
    else process.env["RCP_SPLICE"] = saved;
  }
});
