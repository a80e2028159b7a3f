import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config.js";
import { ownsRequest } from "../../src/http/routing.js";
import {
  ImmutableRuleError,
  immutableScope,
  parseImmutableRule,
  parseImmutableRules,
} from "../../src/oci/immutable-rules.js";
import { parseRoute } from "../../src/oci/routes.js";

describe("immutable tag rules: which repository:tag a rule covers", () => {
  const cases: Array<[rule: string, name: string, tag: string, immutable: boolean]> = [
    ["v*", "app", "v1.0", true],
    ["v*", "team/app", "v1.0", true], // no repository pattern: every repository
    ["v*", "app", "latest", false],
    ["v*", "app", "xv1", false], // globs match the whole tag
    ["v1.0", "app", "v1.0", true],
    ["v1.0", "app", "v1x0", false], // the dot is literal
    ["release/*:*", "release/app", "anything", true],
    ["release/*:*", "release/app/sub", "anything", false], // * stops at /
    ["release/**:*", "release/app/sub", "anything", true],
    ["release/*:*", "app", "anything", false],
    ["app:v*", "app", "v2", true],
    ["app:v*", "other", "v2", false], // a repository-scoped rule leaves other repositories alone
    ["app:v*", "team/app", "v2", false],
    ["/^v\\d+\\.\\d+$/", "app", "v1.2", true],
    ["/^v\\d+\\.\\d+$/", "app", "v1.2-rc", false],
    ["/^V/i", "app", "v1", true], // flags
    ["/rc/", "app", "1.0-rc1", true], // a regular expression is searched, not anchored
    ["/^team\\//:/^v/", "team/app", "v1", true], // regex repository, regex tag
    ["/^team\\//:/^v/", "teamx/app", "v1", false],
    ["/^team\\//:stable", "team/a", "stable", true], // regex repository, glob tag
    ["/a:b/", "app", "a:b", true], // a ':' inside a leading regex belongs to it
    ["**:[0-9]*", "a/b/c", "2024", true],
    ["**:[0-9]*", "a/b/c", "v2024", false],
    ["  v*  ", "app", "v1", true], // surrounding spaces (as in a comma-separated list) are ignored
  ];
  for (const [rule, name, tag, immutable] of cases) {
    it(`${JSON.stringify(rule)} ${immutable ? "covers" : "does not cover"} ${name}:${tag}`, () => {
      const rules = parseImmutableRules([rule]);
      assert.ok(rules);
      assert.equal(rules.ruleFor(name, tag) !== null, immutable);
    });
  }

  it("answers the first rule that matches, as written (for metrics, logs and errors)", () => {
    const rules = parseImmutableRules(["app:stable", "v*", "/^v1/"]);
    assert.ok(rules);
    assert.equal(rules.ruleFor("app", "v1.0")?.source, "v*");
    assert.equal(rules.ruleFor("app", "stable")?.source, "app:stable");
    assert.equal(rules.ruleFor("other", "stable"), null);
  });

  it("lists the rules that can hold in a repository (what a digest delete must check)", () => {
    const rules = parseImmutableRules(["app:stable", "v*", "other/**:x"]);
    assert.ok(rules);
    assert.deepEqual(
      rules.rulesIn("app").map((r) => r.source),
      ["app:stable", "v*"],
    );
    assert.deepEqual(
      rules.rulesIn("other/deep/x").map((r) => r.source),
      ["v*", "other/**:x"],
    );
  });

  it("no rules: null, so nothing is checked anywhere", () => {
    assert.equal(parseImmutableRules([]), null);
  });

  const invalid: Array<[rule: string, message: RegExp]> = [
    ["", /empty rule/],
    ["   ", /empty rule/],
    [":v*", /both non-empty/],
    ["app:", /both non-empty/],
    ["/(/", /invalid regular expression/],
    ["app:[abc", /unclosed \[/],
  ];
  for (const [rule, message] of invalid) {
    it(`refuses ${JSON.stringify(rule)} with a message naming the problem`, () => {
      assert.throws(
        () => parseImmutableRule(rule),
        (err: unknown) => {
          assert.ok(err instanceof ImmutableRuleError);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }
});

describe("tags.immutable in the configuration", () => {
  it("defaults to no rules", () => {
    assert.deepEqual(loadConfig({ env: {} }).tags.immutable, []);
  });

  it("TAGS_IMMUTABLE is a comma-separated list of rules", () => {
    const config = loadConfig({ env: { TAGS_IMMUTABLE: "v*, release/**:* ,app:/^1\\./" } });
    assert.deepEqual(config.tags.immutable, ["v*", "release/**:*", "app:/^1\\./"]);
  });

  it("an invalid rule stops start-up with a message naming the key and the rule", () => {
    assert.throws(
      () => loadConfig({ env: { TAGS_IMMUTABLE: "v*,app:[x" } }),
      /config key tags\.immutable: rule "app:\[x": tag pattern: unclosed \[/,
    );
  });
});

describe("ownsRequest with immutable rules and oci.referrers off", () => {
  const digest = `sha256:${"a".repeat(64)}`;
  const scope = immutableScope(["app:v*"]);
  const cases: Array<[method: string, path: string, withRules: boolean, withoutRules: boolean]> = [
    ["PUT", "/v2/app/manifests/v1", true, false], // covered tag: checked
    ["PUT", "/v2/app/manifests/latest", false, false], // other tags keep the passthrough
    ["PUT", "/v2/other/manifests/v1", false, false], // other repositories too
    ["PUT", `/v2/app/manifests/${digest}`, false, false], // a PUT by digest moves no tag
    ["DELETE", `/v2/app/manifests/${digest}`, true, false], // may untag an immutable tag
    ["DELETE", `/v2/other/manifests/${digest}`, false, false],
    ["GET", "/v2/app/manifests/v1", false, false],
    ["HEAD", "/v2/app/manifests/v1", false, false],
    ["DELETE", "/v2/app/manifests/v1", true, true], // the tag delete is always the proxy's
  ];
  for (const [method, path, withRules, withoutRules] of cases) {
    it(`${method} ${path}: ${withRules ? "owned" : "passes through"} with rules, ${withoutRules ? "owned" : "passes through"} without`, () => {
      const route = parseRoute(method, path);
      assert.equal(ownsRequest(route, method, { referrers: false, immutable: scope }), withRules);
      assert.equal(
        ownsRequest(route, method, { referrers: false, immutable: immutableScope([]) }),
        withoutRules,
      );
    });
  }

  it("no rules: no scope at all", () => {
    assert.equal(immutableScope([]), null);
  });
});
