import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideStop, FORCE_AFTER_MS, type StopSignal, type StopState } from "../../src/ops/stop-signals.js";

/** Feeds signals at the given times (ms) and returns each decision. */
function run(signals: [StopSignal, number][]): string[] {
  const state: StopState = { lastSignalAt: null };
  return signals.map(([signal, at]) => decideStop(state, signal, at));
}

describe("decideStop: what a stop signal means", () => {
  const cases: [string, [StopSignal, number][], string[]][] = [
    ["the first SIGTERM drains", [["SIGTERM", 0]], ["drain"]],
    ["the first SIGINT drains", [["SIGINT", 0]], ["drain"]],
    [
      "SIGTERM again and again (a group SIGTERM plus npm's copy, a supervisor repeating itself) never cuts the drain",
      [
        ["SIGTERM", 0],
        ["SIGTERM", 2],
        ["SIGTERM", 5_000],
        ["SIGTERM", 25_000],
      ],
      ["drain", "ignore", "ignore", "ignore"],
    ],
    [
      "Ctrl-C under npm start (the terminal's SIGINT and npm's copy at once) drains",
      [
        ["SIGINT", 0],
        ["SIGINT", 3],
      ],
      ["drain", "ignore"],
    ],
    [
      "Ctrl-C again a second later exits at once",
      [
        ["SIGINT", 0],
        ["SIGINT", 3],
        ["SIGINT", 3 + FORCE_AFTER_MS],
      ],
      ["drain", "ignore", "force"],
    ],
    [
      "Ctrl-C after a supervisor's SIGTERM forces too, once a second has passed",
      [
        ["SIGTERM", 0],
        ["SIGINT", 500],
        ["SIGINT", 500 + FORCE_AFTER_MS],
      ],
      ["drain", "ignore", "force"],
    ],
    [
      "SIGTERM after Ctrl-C never forces",
      [
        ["SIGINT", 0],
        ["SIGTERM", 10_000],
      ],
      ["drain", "ignore"],
    ],
  ];
  for (const [name, signals, expected] of cases) {
    it(name, () => assert.deepEqual(run(signals), expected));
  }
});
