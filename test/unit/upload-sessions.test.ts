import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  createUploadSessions,
  decideUploadRequest,
  type UploadSession,
  uploadLocation,
  uploadStateOf,
} from "../../src/upstream/upload-sessions.js";

const P = "/v2/a/b/blobs/uploads/u1";

function session(): UploadSession {
  return {
    latest: `${P}?_state=s2`,
    offset: 10,
    states: new Map<string, number | null>([
      ["s0", 0],
      ["s1", 5],
      ["s1b", 5],
      ["s2", 10],
      ["s2b", 10],
    ]),
  };
}

describe("uploadStateOf / uploadLocation", () => {
  it("reads _state from a raw query, as sent", () => {
    assert.equal(uploadStateOf("_state=ab%3D%3D"), "ab%3D%3D");
    assert.equal(uploadStateOf("digest=sha256:x&_state=q"), "q");
    assert.equal(uploadStateOf("_state=q&digest=sha256:x"), "q");
    assert.equal(uploadStateOf("x_state=q"), undefined);
    assert.equal(uploadStateOf("digest=x"), undefined);
    assert.equal(uploadStateOf(""), undefined);
  });
  it("takes path and query of the repository's upload Locations, absolute or relative", () => {
    assert.deepEqual(uploadLocation(`http://proxy:1/v2/a/b/blobs/uploads/u1?_state=x%3D`, "a/b"), {
      pathQuery: `${P}?_state=x%3D`,
      uploadId: "u1",
      state: "x%3D",
    });
    assert.equal(uploadLocation(`${P}?_state=x`, "a/b")?.uploadId, "u1");
    assert.equal(uploadLocation("http://s3.example/bucket/x", "a/b"), undefined);
    assert.equal(uploadLocation("/v2/other/blobs/uploads/u1", "a/b"), undefined);
    assert.equal(uploadLocation("/v2/a/b/blobs/uploads/", "a/b"), undefined);
    assert.equal(uploadLocation(undefined, "a/b"), undefined);
  });
});

describe("decideUploadRequest", () => {
  const cases: Array<[string, string, string | undefined, string | undefined, string]> = [
    ["PATCH at the current offset on the latest state", "PATCH", "s2", "10-19", "forward"],
    ["PATCH streamed (no Content-Range)", "PATCH", "s2", undefined, "forward"],
    [
      "PATCH whose Content-Range starts before the offset",
      "PATCH",
      "s2",
      "0-9",
      "range-invalid:range-mismatch",
    ],
    [
      "PATCH whose Content-Range starts after the offset",
      "PATCH",
      "s2",
      "20-29",
      "range-invalid:range-mismatch",
    ],
    ["PATCH with an inverted Content-Range", "PATCH", "s2", "10-5", "range-invalid:range-mismatch"],
    ["PATCH with an unreadable Content-Range", "PATCH", "s2", "ten-twenty", "forward"],
    ["PATCH to an earlier Location", "PATCH", "s1", "5-9", "range-invalid:stale-location"],
    ["PATCH to another state for the same offset", "PATCH", "s2b", "10-19", "forward"],
    ["PATCH to a state never seen (another replica)", "PATCH", "zz", "0-9", "forward"],
    ["PATCH without _state", "PATCH", undefined, "0-9", "forward"],
    ["GET on an earlier Location", "GET", "s0", undefined, `forward-latest:${P}?_state=s2`],
    ["GET on the latest Location", "GET", "s2", undefined, "forward"],
    ["PUT on an earlier Location", "PUT", "s1", undefined, "forward"],
    ["closing PUT with its last chunk at the offset", "PUT", "s2", "10-19", "forward"],
    [
      "closing PUT whose Content-Range starts after the offset",
      "PUT",
      "s2",
      "20-29",
      "range-invalid:range-mismatch",
    ],
    [
      "closing PUT whose Content-Range starts before the offset",
      "PUT",
      "s2",
      "0-9",
      "range-invalid:range-mismatch",
    ],
    [
      "closing PUT with a Content-Range on an earlier Location",
      "PUT",
      "s1",
      "5-9",
      "range-invalid:stale-location",
    ],
    ["closing PUT with an unreadable Content-Range", "PUT", "s2", "ten-twenty", "forward"],
    ["DELETE on an earlier Location", "DELETE", "s1", undefined, "forward"],
  ];
  for (const [name, method, state, range, expected] of cases) {
    it(`${name} → ${expected}`, () => {
      const d = decideUploadRequest(session(), method, state, range);
      const got =
        d.action === "range-invalid"
          ? `range-invalid:${d.reason}`
          : d.action === "forward-latest"
            ? `forward-latest:${d.url}`
            : d.action;
      assert.equal(got, expected);
    });
  }
  it("forwards everything on an unknown session or an unknown offset", () => {
    assert.equal(decideUploadRequest(undefined, "PATCH", "s1", "0-1").action, "forward");
    const unknown = { ...session(), offset: null };
    assert.equal(decideUploadRequest(unknown, "PATCH", "s1", "0-1").action, "forward");
    assert.equal(decideUploadRequest(unknown, "GET", "s0", undefined).action, "forward");
  });
});

describe("createUploadSessions", () => {
  it("records the latest Location and the offset each state stands for", () => {
    const s = createUploadSessions({ max: 10, ttlMs: 60_000 });
    s.record("a/b", "u1", `${P}?_state=s0`, 0);
    s.record("a/b", "u1", `${P}?_state=s1`, 5);
    const got = s.get("a/b", "u1")!;
    assert.equal(got.latest, `${P}?_state=s1`);
    assert.equal(got.offset, 5);
    assert.deepEqual(
      [...got.states],
      [
        ["s0", 0],
        ["s1", 5],
      ],
    );
    assert.equal(s.get("other", "u1"), undefined);
    s.forget("a/b", "u1");
    assert.equal(s.get("a/b", "u1"), undefined);
  });
  it("is bounded: least recently used sessions and oldest states fall out", () => {
    const s = createUploadSessions({ max: 2, ttlMs: 60_000, statesPerSession: 3 });
    s.record("r", "u1", "/v2/r/blobs/uploads/u1?_state=a", 0);
    s.record("r", "u2", "/v2/r/blobs/uploads/u2?_state=a", 0);
    s.get("r", "u1");
    s.record("r", "u3", "/v2/r/blobs/uploads/u3?_state=a", 0);
    assert.equal(s.size, 2);
    assert.equal(s.get("r", "u2"), undefined);
    for (let i = 0; i < 5; i++) s.record("r", "u1", `/v2/r/blobs/uploads/u1?_state=x${i}`, i);
    assert.deepEqual([...s.get("r", "u1")!.states.keys()], ["x2", "x3", "x4"]);
  });
});
