/**
 * A transparent TCP relay (bench/lib/http-relay.ts "pipe") as its own process, for
 * bench/floor.ts: `node --import tsx bench/lib/relay-main.ts <upstream-url>` prints
 * the port it listens on (127.0.0.1) and runs until killed.
 */
import type { AddressInfo } from "node:net";
import { startRelay } from "./http-relay.js";

const upstream = process.argv[2];
if (!upstream) throw new Error("usage: relay-main.ts <upstream-url>");
const server = await startRelay("pipe", new URL(upstream));
process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
