/**
 * A closed-loop HTTP/1.1 load generator on raw keep-alive sockets, run as its
 * own process (see loadgen.ts). It exists for HEAD: wrk 4.1 waits for the body
 * that a HEAD response announces in Content-Length and never completes one.
 * Each connection sends one request, reads the whole response (headers; for GET
 * the Content-Length or chunked body) and sends the next. Prints one JSON line.
 *
 *   node --import tsx loadgen-worker.ts '{"url":...,"method":"HEAD","headers":{},"connections":32,"seconds":3}'
 */
import net from "node:net";

interface Job {
  url: string;
  method: string;
  headers: Record<string, string>;
  connections: number;
  seconds: number;
}

const job = JSON.parse(process.argv[2]!) as Job;
const u = new URL(job.url);
const head = job.method === "HEAD";
const request = Buffer.from(
  `${job.method} ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n` +
    Object.entries(job.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("") +
    "\r\n",
);

const latencies: number[] = [];
let errors = 0;
let running = true;
const HEADER_END = Buffer.from("\r\n\r\n");

/** Bytes of a complete chunked body at the start of `b`, or -1 when incomplete. */
function chunkedLength(b: Buffer): number {
  let off = 0;
  for (;;) {
    const eol = b.indexOf("\r\n", off);
    if (eol === -1) return -1;
    const size = Number.parseInt(b.toString("latin1", off, eol), 16);
    if (Number.isNaN(size)) throw new Error("bad chunk size");
    if (size === 0) {
      const end = b.indexOf(HEADER_END, eol - 2);
      return end === -1 ? -1 : end + 4;
    }
    off = eol + 2 + size + 2;
    if (off > b.length) return -1;
  }
}

function connection(): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(Number(u.port), u.hostname);
    socket.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    let started = 0;
    const send = () => {
      if (!running) {
        socket.end();
        return resolve();
      }
      started = performance.now();
      socket.write(request);
    };
    socket.on("connect", send);
    socket.on("data", (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      const end = buf.indexOf(HEADER_END);
      if (end === -1) return;
      const headerText = buf.toString("latin1", 0, end).toLowerCase();
      const status = Number(headerText.slice(9, 12));
      let total = end + 4;
      if (!head) {
        const cl = /\r\ncontent-length:\s*(\d+)/.exec(headerText);
        if (cl) total += Number(cl[1]);
        else if (/\r\ntransfer-encoding:\s*chunked/.test(headerText)) {
          const n = chunkedLength(buf.subarray(end + 4));
          if (n === -1) return;
          total += n;
        }
      }
      if (buf.length < total) return;
      if (buf.length > total) throw new Error("pipelined bytes after a response: none were asked for");
      buf = Buffer.alloc(0);
      if (status >= 200 && status < 400) latencies.push(performance.now() - started);
      else errors++;
      if (/\r\nconnection:\s*close/.test(headerText)) {
        socket.destroy();
        errors++;
        return resolve();
      }
      send();
    });
    socket.on("error", () => {
      errors++;
      resolve();
    });
  });
}

const t0 = performance.now();
const done = Promise.all(Array.from({ length: job.connections }, connection));
setTimeout(() => {
  running = false;
}, job.seconds * 1000);
await done;
const seconds = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
process.stdout.write(
  `${JSON.stringify({ requests: latencies.length, seconds, errors, p50Ms: pct(50), p99Ms: pct(99) })}\n`,
);
