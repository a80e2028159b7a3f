import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  authFileCandidates,
  lookupAuthFile,
  normalizeAuthKey,
  resolveCredentials,
} from "../../src/registry-client/credential-sources.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const URL_5000 = new URL("http://reg.example.com:5000");

describe("auth file parsing", () => {
  it("normalizes the key forms docker and podman write", () => {
    assert.deepEqual(normalizeAuthKey("reg.example.com:5000"), { host: "reg.example.com:5000", path: "" });
    assert.deepEqual(normalizeAuthKey("https://Reg.Example.com:5000/v1/"), {
      host: "reg.example.com:5000",
      path: "",
    });
    assert.deepEqual(normalizeAuthKey("http://reg.example.com:5000/v2"), {
      host: "reg.example.com:5000",
      path: "",
    });
    assert.deepEqual(normalizeAuthKey("reg.example.com/team/app"), {
      host: "reg.example.com",
      path: "team/app",
    });
  });

  it("decodes auths[host].auth (a password may hold colons)", () => {
    const text = JSON.stringify({ auths: { "reg.example.com:5000": { auth: b64("alice:se:cret") } } });
    assert.deepEqual(lookupAuthFile(text, URL_5000, "f").credentials, {
      username: "alice",
      password: "se:cret",
    });
  });

  it("accepts a scheme in the key and username/password fields", () => {
    const text = JSON.stringify({
      auths: { "https://reg.example.com:5000": { username: "bob", password: "pw" } },
    });
    assert.deepEqual(lookupAuthFile(text, URL_5000, "f").credentials, { username: "bob", password: "pw" });
  });

  it("matches a host without port to an https URL without port (and :443)", () => {
    const url = new URL("https://reg.example.com");
    for (const key of ["reg.example.com", "reg.example.com:443"]) {
      const text = JSON.stringify({ auths: { [key]: { auth: b64("u:p") } } });
      assert.deepEqual(lookupAuthFile(text, url, "f").credentials, { username: "u", password: "p" }, key);
    }
  });

  it("does not use another host's entry, nor the same host on another port", () => {
    const text = JSON.stringify({
      auths: { "reg.example.com": { auth: b64("u:p") }, "other:5000": { auth: b64("x:y") } },
    });
    assert.equal(lookupAuthFile(text, URL_5000, "f").credentials, null);
  });

  it("explains entries it cannot use", () => {
    const text = JSON.stringify({
      auths: {
        "reg.example.com:5000/team": { auth: b64("u:p") },
        "http://reg.example.com:5000": { auth: b64("nocolon") },
      },
      credsStore: "desktop",
    });
    const r = lookupAuthFile(text, URL_5000, "cfg.json");
    assert.equal(r.credentials, null);
    assert.equal(r.notes.length, 3);
    assert.match(r.notes[0]!, /one namespace only/);
    assert.match(r.notes[1]!, /not base64 of user:password/);
    assert.match(r.notes[2]!, /credential helpers are not supported/);
    assert.match(lookupAuthFile("{", URL_5000, "x").notes[0]!, /not JSON/);
  });
});

describe("resolveCredentials (flags, environment, auth files)", () => {
  const files: Record<string, string> = {
    "/run/user/1/containers/auth.json": JSON.stringify({
      auths: { "reg.example.com:5000": { auth: b64("pod:man") } },
    }),
    "/home/u/.docker/config.json": JSON.stringify({
      auths: { "reg.example.com:5000": { auth: b64("dock:er") } },
    }),
    "/custom.json": JSON.stringify({ auths: { "reg.example.com:5000": { auth: b64("cus:tom") } } }),
  };
  const readFile = (p: string) => {
    const t = files[p];
    if (t === undefined) throw Object.assign(new Error("missing"), { code: "ENOENT" });
    return t;
  };
  const base = { registryUrl: URL_5000, home: "/home/u", readFile };

  it("prefers flags, then the environment, then the auth files", () => {
    const env = { REGISTRY_USERNAME: "e", REGISTRY_PASSWORD: "v", XDG_RUNTIME_DIR: "/run/user/1" };
    const flags = resolveCredentials({ ...base, env, username: "f", password: "l" });
    assert.deepEqual(flags.credentials, { username: "f", password: "l", source: "flags" });
    const fromEnv = resolveCredentials({ ...base, env });
    assert.deepEqual(fromEnv.credentials, { username: "e", password: "v", source: "environment" });
  });

  it("reads $XDG_RUNTIME_DIR/containers/auth.json before ~/.docker/config.json", () => {
    const r = resolveCredentials({ ...base, env: { XDG_RUNTIME_DIR: "/run/user/1" } });
    assert.deepEqual(r.credentials, {
      username: "pod",
      password: "man",
      source: "/run/user/1/containers/auth.json",
    });
    const d = resolveCredentials({ ...base, env: {} });
    assert.deepEqual(d.credentials, {
      username: "dock",
      password: "er",
      source: "/home/u/.docker/config.json",
    });
  });

  it("reads only $REGISTRY_AUTH_FILE when it is set, and says when it is missing", () => {
    const r = resolveCredentials({
      ...base,
      env: { REGISTRY_AUTH_FILE: "/custom.json", XDG_RUNTIME_DIR: "/run/user/1" },
    });
    assert.equal(r.credentials?.username, "cus");
    const missing = resolveCredentials({ ...base, env: { REGISTRY_AUTH_FILE: "/nope.json" } });
    assert.equal(missing.credentials, null);
    assert.match(missing.notes[0]!, /\/nope\.json: ENOENT/);
    assert.deepEqual(authFileCandidates({ REGISTRY_AUTH_FILE: "/a" }, "/h"), ["/a"]);
  });

  it("answers null without any source, and refuses half a pair", () => {
    assert.equal(resolveCredentials({ ...base, home: "/nobody", env: {} }).credentials, null);
    assert.throws(() => resolveCredentials({ ...base, env: {}, username: "u" }), /go together/);
    assert.throws(() => resolveCredentials({ ...base, env: { REGISTRY_USERNAME: "u" } }), /go together/);
  });
});
