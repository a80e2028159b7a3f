import assert from "node:assert/strict";
import http, { type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { createLogger, maskCredentials } from "../../src/ops/logger.js";

const PASSWORD = "hunter2-Pa55word";
const BASIC = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString("base64")}`;
const JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz";
const BEARER = `Bearer ${JWT}`;
const COOKIE = "session=cookie-value-123456";

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: createLogger("trace", sink), text: () => lines.join("") };
}

function assertClean(text: string) {
  for (const secret of [
    PASSWORD,
    BASIC.slice(6),
    JWT,
    JWT.split(".")[2]!,
    Buffer.from(JWT).toString("base64"),
    "cookie-value-123456",
  ]) {
    assert.ok(!text.includes(secret), `log leaks ${secret}:\n${text}`);
  }
}

describe("logger redaction", () => {
  it("redacts credential fields at the top level, nested, and in headers objects", () => {
    const { logger, text } = capture();
    logger.info({ authorization: BASIC, cookie: COOKIE, password: PASSWORD, token: JWT }, "top");
    logger.info({ headers: { authorization: BEARER, "proxy-authorization": BASIC, cookie: COOKIE } }, "h");
    logger.info({ upstream: { headers: { authorization: BEARER } }, service: { password: PASSWORD } }, "n");
    logger.info({ a: { b: { headers: { "set-cookie": COOKIE } } } }, "deep");
    logger.info({ recovery: { token: JWT, access_token: JWT, secret: PASSWORD } }, "cfg");
    assertClean(text());
    assert.match(text(), /\[redacted\]/);
  });

  it("logs a raw IncomingMessage through the serializer, without rawHeaders or credentials", async () => {
    const { logger, text } = capture();
    const server = http.createServer((req: IncomingMessage, res) => {
      logger.warn({ req }, "request seen");
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as AddressInfo).port;
      await new Promise<void>((resolve, reject) => {
        http
          .get(
            {
              port,
              host: "127.0.0.1",
              path: "/v2/x/tags/list",
              headers: { authorization: BEARER, cookie: COOKIE },
            },
            (res) => {
              res.resume();
              res.on("end", resolve);
            },
          )
          .on("error", reject);
      });
    } finally {
      server.close();
    }
    assert.match(text(), /\/v2\/x\/tags\/list/);
    assertClean(text());
  });

  it("masks credentials that end up inside messages and error texts", () => {
    const { logger, text } = capture();
    logger.error({ err: new Error(`upstream said: ${BEARER} was refused`) }, `header was ${BASIC}`);
    logger.info(`token ${JWT} in a message`);
    assertClean(text());
  });

  it("leaves challenges and ordinary words alone", () => {
    assert.equal(maskCredentials('Basic realm="basic-realm"'), 'Basic realm="basic-realm"');
    assert.equal(maskCredentials("Basic auth needs nothing extra"), "Basic auth needs nothing extra");
    assert.equal(maskCredentials(`x ${BASIC} y`), "x Basic [redacted] y");
  });
});
