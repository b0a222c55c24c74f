/**
 * Catastrophic-backtracking patterns on long inputs give Go's answer. The expected answers are
 * closed forms in the input length n, each checked against Go's `regexp` (go1.19
 * FindAllStringSubmatchIndex) for n = 1, 2, 3, 7, 100, 3000 and 20000 before being written here. A
 * backtracking engine needs 2^n steps for most of them; with n in the thousands the test would
 * not finish. (Timing belongs in the benchmark, not here.)
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { render } from "../../test/template-helpers.ts";
import { compileGoRegex, findAllIndex, replaceAllString } from "./goregex.ts";

type Model = (n: number) => number[][];

/** pattern, the subject for n, Go's FindAllStringSubmatchIndex(subject, -1) for n. */
const CASES: [string, (n: number) => string, Model][] = [
  ["^(a+)+$", (n) => "a".repeat(n), (n) => [[0, n, 0, n]]],
  ["^(a+)+$", (n) => `${"a".repeat(n)}b`, () => []],
  ["(a|a)*b", (n) => `${"a".repeat(n)}b`, (n) => [[0, n + 1, n - 1, n]]],
  ["(a|a)*b", (n) => "a".repeat(n), () => []],
  ["(a*)*b", (n) => `${"a".repeat(n)}b`, (n) => [[0, n + 1, 0, n]]],
  ["(a*)*b", (n) => "a".repeat(n), () => []],
  ["(a+)+b", (n) => `${"a".repeat(n)}b`, (n) => [[0, n + 1, 0, n]]],
  ["(a|aa)+$", (n) => "a".repeat(n), (n) => [[0, n, n - 1, n]]],
  ["(a|aa)+$", (n) => `${"a".repeat(n)}!`, () => []],
  ["((a+)+)+c", (n) => "a".repeat(n), () => []],
  ["(x+x+)+y", (n) => "x".repeat(n), () => []],
  ["(a*)*$", (n) => "a".repeat(n), (n) => [[0, n, 0, n]]],
  ["(.*a){3}", (n) => `${"a".repeat(n)}b`, (n) => (n >= 3 ? [[0, n, n - 1, n]] : [])],
];

describe("Go regexp in linear time", () => {
  it.each(CASES)("%s on generated inputs gives Go's matches", (pattern, subject, model) => {
    const re = compileGoRegex(pattern);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20_000 }), (n) => {
        expect(findAllIndex(re, subject(n), -1)).toStrictEqual(model(n));
      }),
      { numRuns: 20 },
    );
  });

  it("replace-all with a catastrophic pattern on a long input", () => {
    const re = compileGoRegex("(a|a)*b");
    const s = `${"a".repeat(30_000)}b-${"a".repeat(30_000)}`;
    expect(replaceAllString(re, s, "[$1]")).toBe(`[a]-${"a".repeat(30_000)}`);
  });

  it("the issue's case: regexMatch on a 35-character near miss answers at once", () => {
    expect(render(`{{ regexMatch "^(a+)+$" "${"a".repeat(34)}b" }}`)).toBe("false");
    expect(render(`{{ regexMatch "^(a+)+$" "${"a".repeat(5000)}" }}`)).toBe("true");
    expect(render(`{{ regexReplaceAll "(a|a)*b" "${"a".repeat(5000)}c" "x" }}`)).toBe(`${"a".repeat(5000)}c`);
  });
});
