import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { variablesFromDiff } from "./diff.ts";
import { substitute, unifiedDiff } from "./rewrite.ts";
import { findVarDefinitions, replaceValues, varsFileKind } from "./var-def.ts";

describe("findVarDefinitions", () => {
  it("finds a top-level key in a vars.yaml and keeps the comment out of the value", () => {
    const text =
      "# header\nFOO_VERSION: 1.0.0  # renovate: datasource=github-tags depName=x/foo\nFOO_VERSION_X: 2\n";
    const defs = findVarDefinitions(text, "vars", "FOO_VERSION", "vars.yaml");
    expect(defs).toHaveLength(1);
    expect(defs[0]).toMatchObject({ line: 2, column: 1, raw: "1.0.0", quote: "" });
    expect(replaceValues(text, defs, "MARK")).toBe(
      "# header\nFOO_VERSION: MARK  # renovate: datasource=github-tags depName=x/foo\nFOO_VERSION_X: 2\n",
    );
  });

  it("keeps quotes and finds every branch of an arch switch", () => {
    const text = [
      '{{ if eq .ARCH "aarch64" }}',
      "BAR_URL: 'https://x/arm64/bar-it''s.tgz'",
      "{{ else }}",
      'BAR_URL: "https://x/amd64/bar.tgz" # amd',
      "{{ end }}",
      "",
    ].join("\r\n");
    const defs = findVarDefinitions(text, "vars", "BAR_URL", "a/vars.yaml");
    expect(defs.map((d) => d.line)).toEqual([2, 4]);
    expect(replaceValues(text, defs, "M")).toBe(
      [
        '{{ if eq .ARCH "aarch64" }}',
        "BAR_URL: 'M'",
        "{{ else }}",
        'BAR_URL: "M" # amd',
        "{{ end }}",
        "",
      ].join("\r\n"),
    );
  });

  it("only looks one level under vars: in a Pkgfile", () => {
    const text = [
      "# syntax = ghcr.io/siderolabs/bldr:v0.6.3",
      "format: v1alpha2",
      "labels:",
      "  FOO: not-a-var",
      "vars:",
      "  # a comment",
      "  FOO: 3.1   # bump me",
      "  OTHER:   ",
      "other:",
      "  FOO: no",
      "",
    ].join("\n");
    const defs = findVarDefinitions(text, "pkgfile", "FOO", "Pkgfile");
    expect(defs.map((d) => [d.line, d.column, d.raw])).toEqual([[7, 3, "3.1"]]);
    const empty = findVarDefinitions(text, "pkgfile", "OTHER", "Pkgfile");
    expect(replaceValues(text, empty, "M").split("\n")[7]).toBe("  OTHER: M   ");
  });

  it("refuses block values with UPDATE_VAR_UNSUPPORTED", () => {
    expect(() => findVarDefinitions("FOO: |\n  x\n", "vars", "FOO", "vars.yaml")).toThrow(
      expect.objectContaining({
        code: "UPDATE_VAR_UNSUPPORTED",
        location: { file: "vars.yaml", line: 1, column: 1 },
      }),
    );
  });

  it("tells defining files from others", () => {
    expect(varsFileKind("Pkgfile")).toBe("pkgfile");
    expect(varsFileKind("a/b/vars.yaml")).toBe("vars");
    expect(varsFileKind("a/Pkgfile")).toBeUndefined();
    expect(varsFileKind("a/pkg.yaml")).toBeUndefined();
  });

  it("replaces exactly the value and nothing else (property)", () => {
    const plain = fc.stringMatching(/^[A-Za-z0-9._/:-]{1,20}$/);
    fc.assert(
      fc.property(
        plain,
        fc.constantFrom("", "  # c", " #x"),
        fc.constantFrom("", '"', "'"),
        (value, comment, q) => {
          const text = `A: 1\nKEY: ${q}${value}${q}${comment}\nB: 2\n`;
          const defs = findVarDefinitions(text, "vars", "KEY", "vars.yaml");
          expect(defs).toHaveLength(1);
          expect(defs[0]!.raw).toBe(`${q}${value}${q}`);
          expect(replaceValues(text, defs, "M")).toBe(`A: 1\nKEY: ${q}M${q}${comment}\nB: 2\n`);
        },
      ),
    );
  });
});

describe("variablesFromDiff", () => {
  it("takes added KEY: lines of Pkgfile and vars.yaml, skipping checksum keys", () => {
    const diff = [
      "diff --git a/foo/vars.yaml b/foo/vars.yaml",
      "--- a/foo/vars.yaml",
      "+++ b/foo/vars.yaml",
      "@@ -1 +1 @@",
      "-FOO_VERSION: 1.0.0",
      "+FOO_VERSION: 1.1.0  # renovate",
      "@@ -3,2 +3,2 @@",
      "-FOO_SHA256: aa",
      "-foo_Sha512: bb",
      "+FOO_SHA256: cc",
      "+foo_Sha512: dd",
      "--- a/Pkgfile",
      "+++ w/Pkgfile",
      "@@ -4,0 +5,2 @@",
      "+  BAR_VERSION: 2",
      "++++ not-a-header: 1",
      "--- a/foo/pkg.yaml",
      "+++ b/foo/pkg.yaml",
      "@@ -1 +1 @@",
      "-name: x",
      "+name: y",
      "",
    ].join("\n");
    expect(variablesFromDiff(diff).map((v) => [v.file, v.key])).toEqual([
      ["foo/vars.yaml", "FOO_VERSION"],
      ["Pkgfile", "BAR_VERSION"],
    ]);
  });

  it("ignores deleted files", () => {
    expect(variablesFromDiff("--- a/vars.yaml\n+++ /dev/null\n@@ -1 +0,0 @@\n-FOO: 1\n")).toEqual([]);
  });
});

describe("substitute and unifiedDiff", () => {
  it("replaces all old strings at once and counts them", () => {
    const { text, counts } = substitute("a: X\nb: Y # X\nc: Z\n", [
      { algorithm: "sha256", old: "X", new: "Y" },
      { algorithm: "sha512", old: "Y", new: "W" },
    ]);
    expect(text).toBe("a: Y\nb: W # Y\nc: Z\n");
    expect(counts).toEqual({ X: 2, Y: 1 });
  });

  it("prints changed lines as -U0 hunks", () => {
    const before = "a\nb\nc\nd\n";
    const after = "a\nB\nC\nd\n";
    expect(unifiedDiff({ file: "vars.yaml", before, after })).toBe(
      "--- a/vars.yaml\n+++ b/vars.yaml\n@@ -2,2 +2,2 @@\n-b\n-c\n+B\n+C\n",
    );
  });
});
