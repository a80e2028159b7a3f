/**
 * Which requests the fast lane serves itself (src/upstream/lane/lane-serves.ts):
 * passthrough GET/HEAD, and the upload requests the upload guard would forward
 * untouched; owned routes, other methods and guarded upload requests go to Node.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRequestHead, type RequestHead } from "../../src/http/wire-head.js";
import { parseRoute, splitPathQuery } from "../../src/oci/routes.js";
import { laneServes } from "../../src/upstream/lane/lane-serves.js";
import { createUploadSessions, type UploadSessions } from "../../src/upstream/upload-sessions.js";

const OWNERSHIP = { referrers: true };
const DIGEST = `sha256:${"ab".repeat(32)}`;

function serves(method: string, target: string, uploads: UploadSessions | null = null, extra: string[] = []) {
  const text = `${[`${method} ${target} HTTP/1.1`, "Host: x", ...extra].join("\r\n")}\r\n\r\n`;
  const r = parseRequestHead(Buffer.from(text, "latin1"), 16 * 1024);
  assert.equal(r.kind, "head", text);
  const head = (r as { head: RequestHead }).head;
  const { path, query } = splitPathQuery(head.target);
  return laneServes(head, parseRoute(head.method, path), query, OWNERSHIP, uploads);
}

describe("laneServes", () => {
  it("GET and HEAD of blobs, manifests by digest, the catalog and /v2/ are the lane's", () => {
    assert.equal(serves("GET", "/v2/"), true);
    assert.equal(serves("HEAD", `/v2/a/b/blobs/${DIGEST}`), true);
    assert.equal(serves("GET", `/v2/a/manifests/${DIGEST}`), true);
    assert.equal(serves("GET", "/v2/_catalog?n=10"), true);
  });

  it("owned routes (tags list, tag delete, ops endpoints), invalid paths and digests go to Node", () => {
    assert.equal(serves("GET", "/v2/a/tags/list"), false);
    assert.equal(serves("DELETE", "/v2/a/manifests/latest"), false);
    assert.equal(serves("GET", "/metrics"), false);
    assert.equal(serves("GET", `/v2/a/../b/blobs/${DIGEST}`), false);
    assert.equal(serves("GET", "/v2/a/blobs/sha256:abc"), false);
  });

  it("manifest PUT (kept in step with the referrers index) and DELETE outside uploads go to Node", () => {
    assert.equal(serves("PUT", "/v2/a/manifests/v1", null, ["Content-Length: 2"]), false);
    assert.equal(serves("DELETE", `/v2/a/blobs/${DIGEST}`), false);
  });

  it("uploads: POST starts, PATCH/PUT/DELETE on a session are the lane's; GET of an upload goes to Node", () => {
    assert.equal(serves("POST", "/v2/a/blobs/uploads/"), true);
    assert.equal(serves("GET", "/v2/a/blobs/uploads/"), false);
    assert.equal(serves("PATCH", "/v2/a/blobs/uploads/u1", null, ["Content-Length: 3"]), true);
    assert.equal(serves("PUT", "/v2/a/blobs/uploads/u1?digest=sha256:abc"), true);
    assert.equal(serves("DELETE", "/v2/a/blobs/uploads/u1"), true);
    assert.equal(serves("GET", "/v2/a/blobs/uploads/u1"), false);
  });

  it("strict uploads: a PATCH on an earlier Location goes to Node (the guard answers 416); the latest, PUT and unknown sessions stay", () => {
    const uploads = createUploadSessions({ max: 10, ttlMs: 60_000 });
    uploads.record("a", "u1", "/v2/a/blobs/uploads/u1?_state=s0", 0);
    uploads.record("a", "u1", "/v2/a/blobs/uploads/u1?_state=s1", 3);
    const patch = ["Content-Length: 3"];
    assert.equal(serves("PATCH", "/v2/a/blobs/uploads/u1?_state=s0", uploads, patch), false);
    assert.equal(serves("PATCH", "/v2/a/blobs/uploads/u1?_state=s1", uploads, patch), true);
    assert.equal(serves("PUT", "/v2/a/blobs/uploads/u1?_state=s0&digest=sha256:abc", uploads), true);
    assert.equal(serves("PATCH", "/v2/a/blobs/uploads/u2?_state=s0", uploads, patch), true);
  });
});
