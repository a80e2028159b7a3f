/**
 * `registry-compat-proxy repo delete NAME` against a proxy in front of a real
 * docker-registry 2.8.2, and the repository delete's rights: with a token-auth
 * registry, a user without delete rights gets the registry's refusal and nothing
 * changes; one with them deletes, through the CLI (which calls the proxy, never the
 * registry) or plain HTTP.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { cli } from "../helpers/history.js";
import { request } from "../helpers/http.js";
import { errorCode, tagsOf } from "../helpers/tag-delete.js";
import { seed } from "../helpers/tags.js";
import { startTokenServer, type TokenServer } from "../helpers/token-server.js";

describe("repo delete NAME (the command line) through the proxy", () => {
  const fx = useRegistryAndProxy({});

  it("repo delete NAME: exit 0, prints the tags deleted; the registry keeps none", async () => {
    await seed(fx.registry.url, "cli/app", ["a", "b"]);
    const run = await cli(["repo", "delete", "cli/app", "--registry", fx.proxy.url]);
    assert.equal(run.code, 0, run.err);
    assert.equal(run.out, "deleted repository cli/app: 2 tag(s): a, b\n");
    assert.deepEqual(await tagsOf(fx.registry.url, "cli/app"), []);
  });

  it("--json prints the proxy's answer", async () => {
    await seed(fx.registry.url, "cli/json", ["x"]);
    const run = await cli(["repo", "delete", "cli/json", "--registry", fx.proxy.url, "--json"]);
    assert.equal(run.code, 0, run.err);
    assert.deepEqual(JSON.parse(run.out), { name: "cli/json", deleted: ["x"] });
  });

  it("a name that is no repository: exit 3 and a clear message; a path-like name: exit 1; nothing changes", async () => {
    await seed(fx.registry.url, "cli/kept", ["t"]);
    await seed(fx.registry.url, "cli/kept/tags", ["t"]);
    const none = await cli(["repo", "delete", "cli/none", "--registry", fx.proxy.url]);
    assert.equal(none.code, 3);
    assert.match(none.err, /no repository cli\/none \(or it has no tags\); nothing was deleted/);
    const routeWord = await cli(["repo", "delete", "cli/kept/tags", "--registry", fx.proxy.url]);
    assert.equal(routeWord.code, 1);
    assert.match(routeWord.err, /UNSUPPORTED: DELETE \/v2\/cli\/kept\/tags is not a repository delete/);
    assert.deepEqual(await tagsOf(fx.registry.url, "cli/kept"), ["t"]);
    assert.deepEqual(await tagsOf(fx.registry.url, "cli/kept/tags"), ["t"]);
  });

  it("usage errors exit 2 and change nothing: bad name, missing --registry, no scheme, unknown subcommand", async () => {
    await seed(fx.registry.url, "cli/usage", ["t"]);
    const host = fx.proxy.url.replace("http://", "");
    for (const [args, pattern] of [
      [["repo", "delete", "Cli/Usage", "--registry", fx.proxy.url], /is not a repository name/],
      [["repo", "delete", "cli/usage"], /--registry URL is required/],
      [["repo", "delete", "cli/usage", "--registry", host], /has no scheme/],
      [["repo", "remove", "cli/usage", "--registry", fx.proxy.url], /unknown repo subcommand: remove/],
      [["repo", "delete", "--registry", fx.proxy.url], /argument is missing/],
      [["repo", "delete", "cli/usage", "--registry", fx.proxy.url, "--username", "u"], /go together/],
    ] as const) {
      const run = await cli([...args]);
      assert.equal(run.code, 2, args.join(" "));
      assert.match(run.err, pattern, args.join(" "));
    }
    assert.deepEqual(await tagsOf(fx.registry.url, "cli/usage"), ["t"]);
  });

  it("--help lists the flags, the exit codes and the environment", async () => {
    const run = await cli(["repo", "--help"]);
    assert.equal(run.code, 0);
    for (const word of ["repo delete NAME", "--registry", "--username", "--password", "--json", "Exit code"])
      assert.ok(run.out.includes(word), word);
    for (const env of ["REGISTRY_USERNAME", "REGISTRY_PASSWORD", "REGISTRY_AUTH_FILE"])
      assert.ok(run.out.includes(env), env);
    const top = await cli(["--help"]);
    assert.match(top.out, /repo +delete a repository/);
  });
});

describe("repository delete rights: the registry's token auth decides, with the caller's credentials", () => {
  let tokens: TokenServer;
  before(async () => {
    tokens = await startTokenServer({
      users: {
        admin: { password: "admin-pw", repositories: { "*": ["pull", "push", "delete"] } },
        writer: { password: "writer-pw", repositories: { "*": ["pull", "push"] } },
      },
    });
  });
  const fx = useRegistryAndProxy(() => ({ registry: { token: tokens.registryAuth } }));
  after(async () => {
    await tokens?.stop();
  });
  const bearer = (repo: string, actions: string[]) =>
    `Bearer ${tokens.issue("admin", [{ type: "repository", name: repo, actions }])}`;

  it("DELETE /v2/<name> without a token: 401 with a pull,push,delete challenge; with a pull,push token: 401; nothing changes", async () => {
    const all = bearer("auth/app", ["pull", "push", "delete"]);
    await seed(fx.registry.url, "auth/app", ["a", "b"], all);
    const anonymous = await request("DELETE", `${fx.proxy.url}/v2/auth/app`);
    assert.equal(anonymous.status, 401);
    assert.equal(errorCode(anonymous), "UNAUTHORIZED");
    assert.match(
      String(anonymous.headers["www-authenticate"]),
      /scope="repository:auth\/app:pull,push,delete"/,
    );
    const weak = await request("DELETE", `${fx.proxy.url}/v2/auth/app`, {
      headers: { authorization: bearer("auth/app", ["pull", "push"]) },
    });
    assert.equal(weak.status, 401, weak.text);
    assert.equal(errorCode(weak), "UNAUTHORIZED");
    assert.match(weak.text, /nothing was deleted/);
    assert.deepEqual(await tagsOf(fx.registry.url, "auth/app", all), ["a", "b"]);
  });

  it("repo delete as a user without delete rights: exit 1, nothing changes; as one with them: exit 0", async () => {
    const all = bearer("auth/cli", ["pull", "push", "delete"]);
    await seed(fx.registry.url, "auth/cli", ["a", "b", "c"], all);
    const args = ["repo", "delete", "auth/cli", "--registry", fx.proxy.url];
    const writer = await cli([...args, "--username", "writer", "--password", "writer-pw"]);
    assert.equal(writer.code, 1, writer.err);
    assert.match(writer.err, /UNAUTHORIZED/);
    assert.deepEqual(await tagsOf(fx.registry.url, "auth/cli", all), ["a", "b", "c"]);
    const admin = await cli([...args, "--username", "admin", "--password", "admin-pw"]);
    assert.equal(admin.code, 0, admin.err);
    assert.deepEqual(await tagsOf(fx.registry.url, "auth/cli", all), []);
    const list = await request("GET", `${fx.proxy.url}/v2/auth/cli/tags/list`, {
      headers: { authorization: all },
    });
    assert.equal(list.status, 404);
    assert.equal(errorCode(list), "NAME_UNKNOWN");
  });
});
