/**
 * Loopback socket rigs for relay tests (test/integration/splice.test.ts):
 *   sender ──TCP── from   (relay input)      to ──TCP── receiver   (relay output)
 * plus a byte source with backpressure and a hashing collector.
 */
import { createHash, randomFillSync } from "node:crypto";
import { once } from "node:events";
import net from "node:net";

const MiB = 1024 * 1024;
const NOISE = randomFillSync(Buffer.alloc(4 * MiB));

export interface Rig {
  sender: net.Socket;
  from: net.Socket;
  to: net.Socket;
  receiver: net.Socket;
  close(): Promise<void>;
}

async function connectedPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const accepted = once(server, "connection") as Promise<[net.Socket]>;
  const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  await once(client, "connect");
  const [serverSide] = await accepted;
  server.close();
  return [client, serverSide];
}

export async function openRig(): Promise<Rig> {
  const [sender, from] = await connectedPair();
  const [to, receiver] = await connectedPair();
  const all = [sender, from, to, receiver];
  for (const s of all) s.on("error", () => {});
  return {
    sender,
    from,
    to,
    receiver,
    close: async () => {
      const closing = all.filter((s) => !s.closed).map((s) => once(s, "close"));
      for (const s of all) s.destroy();
      await Promise.all(closing);
    },
  };
}

function drainOrClose(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off("drain", done);
      socket.off("close", done);
      resolve();
    };
    socket.on("drain", done);
    socket.on("close", done);
  });
}

/** Writes `size` pseudo-random bytes with backpressure; resolves with their sha256. */
/** Runs `fn` on a fresh rig and closes it afterwards, whatever happens. */
export async function withRig<T>(fn: (rig: Rig) => Promise<T>): Promise<T> {
  const rig = await openRig();
  try {
    return await fn(rig);
  } finally {
    await rig.close();
  }
}

export async function sendBytes(socket: net.Socket, size: number): Promise<string> {
  const hash = createHash("sha256");
  for (let off = 0; off < size; off += NOISE.length) {
    const chunk = Buffer.from(NOISE.subarray(0, Math.min(NOISE.length, size - off)));
    chunk[0] = (off / NOISE.length) & 0xff;
    hash.update(chunk);
    if (!socket.write(chunk)) await drainOrClose(socket);
    if (socket.destroyed) break;
  }
  return hash.digest("hex");
}

/** Hashes what `socket` receives; `until(n)` resolves once n bytes arrived. */
export function collect(socket: net.Socket) {
  const hash = createHash("sha256");
  let bytes = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  socket.on("data", (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
    for (const w of waiters.filter((w) => bytes >= w.n)) w.resolve();
  });
  return {
    bytes: () => bytes,
    digest: () => hash.copy().digest("hex"),
    until: (n: number) =>
      bytes >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })),
  };
}
