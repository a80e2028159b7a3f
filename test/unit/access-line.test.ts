import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import fc from "fast-check";
import pino from "pino";
import { type AccessFields, formatAccessLine, isoTimestamp } from "../../src/ops/logger.js";

/** What pino writes for the same fields with the access logger's former options. */
function pinoLine(level: "info" | "debug", time: string, f: AccessFields): string {
  let out = "";
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const logger = pino(
    { level: "debug", base: { service: "registry-compat-proxy" }, timestamp: () => time },
    sink,
  );
  logger[level]({ ...f }, "request");
  return out;
}

const base: AccessFields = {
  requestId: "0b7e0a2e-5f4c-4d7e-9a55-4c8f3b2b6d11",
  method: "GET",
  path: "/v2/app/manifests/latest",
  status: 200,
  ms: 1.23,
  bytesIn: 210,
  bytesOut: 912,
  route: "manifest",
  remote: "127.0.0.1",
  aborted: undefined,
};

describe("access lines formatted without pino", () => {
  it("are byte for byte what pino wrote, for info and debug, with and without remote/aborted", () => {
    const time = isoTimestamp(1764331200123);
    for (const f of [base, { ...base, remote: undefined }, { ...base, aborted: true as const, status: 0 }]) {
      assert.equal(formatAccessLine(30, time, f), pinoLine("info", time, f));
      assert.equal(formatAccessLine(20, time, f), pinoLine("debug", time, f));
    }
  });

  it("escape any path, method and remote as JSON (quotes, backslashes, controls, unicode)", () => {
    const time = isoTimestamp(1764331200123);
    fc.assert(
      fc.property(
        fc.string(),
        fc.string({ maxLength: 10 }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        (path, method, ms) => {
          const f = { ...base, path, method, ms: Math.round(ms * 100) / 100 };
          const line = formatAccessLine(30, time, f);
          assert.equal(line, pinoLine("info", time, f));
          assert.equal((JSON.parse(line) as AccessFields).path, path);
        },
      ),
      { numRuns: 500 },
    );
  });
});
