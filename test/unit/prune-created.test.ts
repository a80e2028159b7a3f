import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type ContentSource,
  createCreatedResolver,
  manifestType,
  newestOf,
  parseCreated,
  schema1Created,
} from "../../src/prune/created.js";

const OCI = "application/vnd.oci.image.manifest.v1+json";
const INDEX = "application/vnd.oci.image.index.v1+json";
const DOCKER = "application/vnd.docker.distribution.manifest.v2+json";

describe("parseCreated", () => {
  it("reads RFC 3339 times, with fractions and offsets", () => {
    assert.equal(parseCreated("2024-05-01T10:00:00Z").created?.toISOString(), "2024-05-01T10:00:00.000Z");
    assert.equal(
      parseCreated("2024-05-01T10:00:00.123456789Z").created?.toISOString(),
      "2024-05-01T10:00:00.123Z",
    );
    assert.equal(
      parseCreated("2024-05-01T12:00:00+02:00").created?.toISOString(),
      "2024-05-01T10:00:00.000Z",
    );
  });

  it("says why a value is not usable", () => {
    const problems: Array<[unknown, RegExp]> = [
      [undefined, /no created field/],
      ["", /no created field/],
      [1714557600, /not a string/],
      ["yesterday", /not an RFC 3339 time/],
      ["2024-13-45T99:00:00Z", /not a valid time/],
      ["1970-01-01T00:00:00Z", /placeholder/],
      ["0001-01-01T00:00:00Z", /placeholder/],
    ];
    for (const [value, re] of problems) {
      const r = parseCreated(value);
      assert.equal(r.created, null, String(value));
      assert.match(r.problem!, re);
    }
  });

  it("reads schema1 times from the first history entry", () => {
    const doc = { history: [{ v1Compatibility: JSON.stringify({ created: "2023-02-03T04:05:06Z" }) }] };
    assert.equal(schema1Created(doc).created?.toISOString(), "2023-02-03T04:05:06.000Z");
    assert.match(schema1Created({}).problem!, /without history/);
  });

  it("takes the media type from Content-Type, else from the body", () => {
    assert.equal(manifestType(`${OCI}; charset=utf-8`, {}), OCI);
    assert.equal(manifestType("application/json", { mediaType: DOCKER }), DOCKER);
    assert.equal(manifestType("", { manifests: [] }), INDEX);
    assert.equal(manifestType("", { config: {} }), OCI);
  });

  it("newestOf picks the newest time, or lists the problems", () => {
    const a = { created: new Date("2024-01-01T00:00:00Z") };
    const b = { created: new Date("2024-02-01T00:00:00Z") };
    assert.equal(newestOf([a, { created: null, problem: "x" }, b]).created, b.created);
    assert.match(newestOf([{ created: null, problem: "x" }]).problem!, /no child has a created time \(x\)/);
    assert.match(newestOf([]).problem!, /empty index/);
  });
});

/** Content in memory, counting reads. */
function source(
  manifests: Record<string, { mediaType: string; doc: unknown }>,
  blobs: Record<string, unknown>,
) {
  const reads: string[] = [];
  const s: ContentSource = {
    async getManifest(_name, digest) {
      reads.push(digest);
      const m = manifests[digest];
      if (!m) throw new Error(`manifest ${digest} unknown`);
      return { mediaType: m.mediaType, body: Buffer.from(JSON.stringify(m.doc)) };
    },
    async getBlob(_name, digest) {
      reads.push(digest);
      if (!(digest in blobs)) throw new Error(`blob ${digest} unknown`);
      return Buffer.from(JSON.stringify(blobs[digest]));
    },
  };
  return { s, reads };
}

describe("createCreatedResolver", () => {
  const manifests = {
    "m:amd64": { mediaType: OCI, doc: { config: { digest: "c:amd64" } } },
    "m:arm": { mediaType: DOCKER, doc: { config: { digest: "c:arm" } } },
    "m:attest": { mediaType: OCI, doc: { config: { digest: "c:attest" } } },
    "i:multi": {
      mediaType: INDEX,
      doc: { manifests: [{ digest: "m:amd64" }, { digest: "m:arm" }, { digest: "m:attest" }] },
    },
    "i:broken": { mediaType: INDEX, doc: { manifests: [{ digest: "m:missing" }, { digest: "m:attest" }] } },
    "a:artifact": { mediaType: "application/vnd.example+json", doc: {} },
  };
  const blobs = {
    "c:amd64": { created: "2024-03-01T00:00:00Z" },
    "c:arm": { created: "2024-03-05T00:00:00Z" },
    "c:attest": {},
  };

  it("uses the config blob's created time for an image manifest", async () => {
    const { s } = source(manifests, blobs);
    const r = await createCreatedResolver(s).ofManifest("repo", "m:amd64");
    assert.equal(r.created?.toISOString(), "2024-03-01T00:00:00.000Z");
  });

  it("uses the newest child of an index, ignoring children without a time", async () => {
    const { s } = source(manifests, blobs);
    const r = await createCreatedResolver(s).ofManifest("repo", "i:multi");
    assert.equal(r.created?.toISOString(), "2024-03-05T00:00:00.000Z");
  });

  it("explains an index with no readable time, and an unsupported type", async () => {
    const { s } = source(manifests, blobs);
    const resolver = createCreatedResolver(s);
    const broken = await resolver.ofManifest("repo", "i:broken");
    assert.equal(broken.created, null);
    assert.match(broken.problem!, /child unreadable: manifest m:missing unknown; no created field/);
    const artifact = await resolver.ofManifest("repo", "a:artifact");
    assert.match(artifact.problem!, /unsupported manifest type application\/vnd.example\+json/);
  });

  it("reads each manifest and config once per run, however many tags share them", async () => {
    const { s, reads } = source(manifests, blobs);
    const resolver = createCreatedResolver(s);
    await Promise.all([
      resolver.ofManifest("repo", "i:multi"),
      resolver.ofManifest("repo", "i:multi"),
      resolver.ofManifest("repo", "m:arm"),
      resolver.ofManifest("other", "m:amd64"),
    ]);
    assert.deepEqual([...reads].sort(), [
      "c:amd64",
      "c:arm",
      "c:attest",
      "i:multi",
      "m:amd64",
      "m:arm",
      "m:attest",
    ]);
  });
});
