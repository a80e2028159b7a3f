/**
 * What the fast lane's connections share (src/upstream/fast-lane.ts builds it once
 * per lane), and the phases and response framings of one connection.
 */
import type { FastLaneOptions } from "../fast-lane.js";
import type { SocketPool } from "../socket-pool.js";
import type { Connection } from "./connection.js";

export interface LaneContext {
  readonly options: FastLaneOptions;
  /** Keep-alive sockets to the upstream. */
  readonly pool: SocketPool;
  /** The lane's connections (removed when closed or handed to Node's server). */
  readonly conns: Set<Connection>;
  /** splice(2) is available (the native addon is built). */
  readonly splicing: boolean;
  /** The Host the upstream gets (`host:port` of its URL). */
  readonly upstreamHost: string;
}

/** Bodies at least this large (after the first read) move with splice(2) when available. */
export const SPLICE_MIN_BYTES = 1024 * 1024;
export const MAX_REQUEST_HEAD = 16 * 1024;
export const MAX_RESPONSE_HEAD = 64 * 1024;
/** Pipelined bytes buffered while a request is served before reading pauses. */
export const MAX_PENDING = 64 * 1024;

export enum Phase {
  Idle,
  Connecting,
  AwaitHead,
  Body,
  Splicing,
  /** An owned request the lane answers itself (lane-answers.ts), waiting for its answer. */
  Answering,
  Closed,
}

/** How the response body is framed. */
export enum Mode {
  None,
  Length,
  Chunked,
  UntilClose,
}

/** A malformed upstream message (answered 502, or a broken transfer mid-body). */
export function protocolError(reason: string): NodeJS.ErrnoException {
  return Object.assign(new Error(reason), { code: "EPROTO" }) as NodeJS.ErrnoException;
}
