/**
 * A bounded queue in front of the passthrough's connection pool. At most
 * `maxActive` exchanges (upstream.maxSockets: one socket each) run at once; the
 * next ones wait here, in arrival order, at most `queueMax` of them and at most
 * `queueTimeoutMs` each. A request that finds the queue full, or waits too long,
 * gets `503 UNAVAILABLE` with `Retry-After` (and `Connection: close`: its body, if
 * any, is not read) instead of hanging behind a stalled upstream. A queued client
 * that goes away leaves the queue.
 *
 * Cost on the way through when the pool has room: a counter and one shared
 * `close` listener per request; nothing is allocated and no timer is set.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { writeOciError } from "../http/write-error.js";

export type Forward = (req: IncomingMessage, res: ServerResponse) => void;

/** Why a request was refused: the queue was full, or it waited too long for a socket. */
export type RefusedReason = "queue-full" | "queue-timeout";

export interface AdmissionOptions {
  maxActive: number;
  queueMax: number;
  queueTimeoutMs: number;
  /** Seconds a refused client is told to wait (Retry-After). */
  retryAfterSeconds?: number;
  onRefused?(reason: RefusedReason): void;
}

export interface Admission {
  /** `forward`, admitted: runs it now, or once a running exchange ends. */
  wrap(forward: Forward): Forward;
  readonly active: number;
  readonly waiting: number;
}

interface Waiter {
  req: IncomingMessage;
  res: ServerResponse;
  forward: Forward;
  timer: NodeJS.Timeout;
}

export function createAdmission(o: AdmissionOptions): Admission {
  let active = 0;
  const queue: Waiter[] = [];
  const retryAfter = String(o.retryAfterSeconds ?? 5);

  function refuse(req: IncomingMessage, res: ServerResponse, reason: RefusedReason): void {
    o.onRefused?.(reason);
    writeOciError(
      res,
      "UNAVAILABLE",
      reason === "queue-full"
        ? "the proxy's connections to the upstream registry are all busy; retry later"
        : "no connection to the upstream registry became free in time; retry later",
      { reason },
      { headers: { "retry-after": retryAfter, connection: "close" }, head: req.method === "HEAD" },
    );
  }

  /** Shared by every admitted response: its exchange ended, the next waiter may run. */
  function released(): void {
    active--;
    while (queue.length > 0 && active < o.maxActive) {
      const next = queue.shift()!;
      clearTimeout(next.timer);
      next.res.off("close", leftQueue);
      if (next.res.destroyed || next.res.writableEnded) continue;
      run(next.req, next.res, next.forward);
    }
  }

  function run(req: IncomingMessage, res: ServerResponse, forward: Forward): void {
    active++;
    res.on("close", released);
    forward(req, res);
  }

  function leftQueue(this: ServerResponse): void {
    const at = queue.findIndex((w) => w.res === this);
    if (at === -1) return;
    clearTimeout(queue[at]!.timer);
    queue.splice(at, 1);
  }

  function wait(req: IncomingMessage, res: ServerResponse, forward: Forward): void {
    if (queue.length >= o.queueMax) {
      refuse(req, res, "queue-full");
      return;
    }
    const waiter: Waiter = {
      req,
      res,
      forward,
      timer: setTimeout(() => {
        const at = queue.indexOf(waiter);
        if (at === -1) return;
        queue.splice(at, 1);
        res.off("close", leftQueue);
        refuse(req, res, "queue-timeout");
      }, o.queueTimeoutMs),
    };
    queue.push(waiter);
    res.on("close", leftQueue);
  }

  return {
    wrap(forward) {
      return (req, res) => {
        if (active < o.maxActive) run(req, res, forward);
        else wait(req, res, forward);
      };
    },
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
  };
}
