/**
 * An owned request answered in the lane (handlers/lane-answers.ts: the tags lists):
 * the same bookkeeping as a relayed request (tracker, request id, keep-alive), the
 * upstream calls made with the caller's credentials and the forwarding headers the
 * passthrough would send, and the answer written as one buffer with the lane's
 * request id and Connection lines. A client that leaves meanwhile has its exchange
 * recorded as cut (onClientClose) and its answer dropped.
 */
import { type IncomingHttpHeaders, STATUS_CODES } from "node:http";
import type { LaneAnswer, LaneAnswers, LaneAsk } from "../../handlers/lane-answers.js";
import type { RequestHead } from "../../http/wire-head.js";
import { applyForwardingHeaders } from "../forwarding.js";
import type { Connection } from "./connection.js";
import { Phase } from "./context.js";

export function answerOwned(
  c: Connection,
  answers: LaneAnswers,
  head: RequestHead,
  path: string,
  query: string,
  route: LaneAsk["route"],
): void {
  c.phase = Phase.Answering;
  const origin = c.open(head, path, route.kind, route.name);
  const o = c.lane.options;
  // What callerHeaders() gives Node's path: credentials, request id, one set of forwarding headers.
  const upstreamHeaders: IncomingHttpHeaders = {};
  const authorization = headerValue(head, "authorization");
  if (authorization) upstreamHeaders.authorization = authorization;
  upstreamHeaders["x-request-id"] = c.requestId;
  upstreamHeaders["x-forwarded-for"] = head.xForwardedFor;
  applyForwardingHeaders(upstreamHeaders, origin, c.socket.remoteAddress, o.trustForwarded);
  const work = answers
    .answer({
      method: head.method === "HEAD" ? "HEAD" : "GET",
      route,
      query,
      authorization,
      upstreamHeaders,
    })
    .then((answer) => writeAnswer(c, answer))
    // answer() never rejects; a throw while writing leaves nothing sound to say on this connection.
    .catch(() => c.socket.destroy());
  o.trackWork?.(work);
}

/** The first value of a header (as Node keeps the first Authorization), or undefined. */
function headerValue(head: RequestHead, lower: string): string | undefined {
  const i = head.lower.indexOf(lower);
  return i === -1 ? undefined : head.values[i];
}

function writeAnswer(c: Connection, answer: LaneAnswer): void {
  if (c.phase !== Phase.Answering) return; // the client left
  c.status = answer.status;
  if (c.lane.options.readiness.draining) c.keepAlive = false;
  let out = `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ""}\r\n`;
  for (const name in answer.headers) out += `${name}: ${answer.headers[name]}\r\n`;
  out += `date: ${httpDate()}\r\nx-request-id: ${c.requestId}\r\nconnection: ${c.keepAlive ? "keep-alive" : "close"}\r\n\r\n`;
  const body = c.method === "HEAD" ? "" : answer.body;
  // Header values are latin1 (as relayed from the upstream), the body UTF-8: one buffer, one write.
  const head = Buffer.from(out, "latin1");
  c.socket.write(
    body.length === 0
      ? head
      : Buffer.concat([head, typeof body === "string" ? Buffer.from(body, "utf8") : body]),
  );
  c.finish();
}

let dateSecond = -1;
let dateText = "";
/** The IMF-fixdate of now, made once per second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}
