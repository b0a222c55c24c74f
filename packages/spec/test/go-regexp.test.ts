/**
 * Our Go regexp against Go itself: fixtures/go-regexp.json holds Go 1.19's answers
 * (FindAllStringSubmatchIndex, ReplaceAllString, compile errors) for generated patterns, written
 * once by a small Go program; this test needs no Go toolchain. One known difference is left out:
 * Go accepts duplicate capture names (`(?P<n>a)(?P<n>b)`), we reject them as RE2 does (an older
 * test asserts that).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileGoRegex, findAllIndex, replaceAllString } from "../src/template/goregex.ts";

interface Case {
  pattern: string;
  subject: string;
  replacement: string;
  matches?: number[][];
  replaced?: string;
  error?: string;
}

const { cases } = JSON.parse(readFileSync(new URL("fixtures/go-regexp.json", import.meta.url), "utf8")) as {
  cases: Case[];
};

/** Go reports byte offsets; ours are UTF-16 offsets into the same string. */
const toBytes = (s: string, m: number[]) => m.map((i) => (i < 0 ? i : Buffer.byteLength(s.slice(0, i))));

describe("Go regexp compatibility (answers recorded from Go 1.19)", () => {
  it.each(cases.map((c) => [c.pattern, c.subject, c] as const))("%j on %j", (_p, _s, c) => {
    if (c.error !== undefined) {
      expect(() => compileGoRegex(c.pattern)).toThrow(
        expect.objectContaining({ code: "TEMPLATE_EXEC", message: c.error }),
      );
      return;
    }
    const re = compileGoRegex(c.pattern);
    expect(findAllIndex(re, c.subject, -1).map((m) => toBytes(c.subject, m))).toStrictEqual(c.matches);
    expect(replaceAllString(re, c.subject, c.replacement)).toBe(c.replaced);
  });
});
