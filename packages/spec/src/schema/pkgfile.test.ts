import { describe, expect, expectTypeOf, test } from "vitest";
import type { z } from "zod";
import type { Diagnostic } from "../errors.ts";
import { decodeYaml } from "../yaml/decode.ts";
import { decodePkgfile, decodeVars, type Pkgfile, type pkgfileSchema, type varsSchema } from "./pkgfile.ts";

const brief = (d: Diagnostic) => ({
  code: d.code,
  severity: d.severity,
  message: d.message,
  line: d.line,
  column: d.column,
});
const pkgfile = (text: string) => decodePkgfile(decodeYaml(text, { file: "Pkgfile" }));
const vars = (text: string) => decodeVars(decodeYaml(text, { file: "vars.yaml" }));

describe("decodePkgfile", () => {
  test("decodes vars and labels as text; the syntax line is a comment", () => {
    const r = pkgfile(`# syntax = ghcr.io/siderolabs/bldr:v0.6.3
format: v1alpha2
vars:
  TALOS_VERSION: 20260810
  ENABLED: true
  TEMPLATE: "{{ .BUILD_ARG_X }}"
labels:
  org.opencontainers.image.source: https://example.invalid/repo
`);
    expect(r.diagnostics).toEqual([]);
    expect(r.value).toEqual<Pkgfile>({
      format: "v1alpha2",
      vars: { TALOS_VERSION: "20260810", ENABLED: "true", TEMPLATE: "{{ .BUILD_ARG_X }}" },
      labels: { "org.opencontainers.image.source": "https://example.invalid/repo" },
    });
    expectTypeOf<z.output<typeof pkgfileSchema>>().toEqualTypeOf<Pkgfile>();
  });

  test("vars and labels default to empty", () => {
    expect(pkgfile("format: v1alpha2\n").value).toEqual({ format: "v1alpha2", vars: {}, labels: {} });
  });

  test("an unsupported format", () => {
    expect(pkgfile("format: v1alpha1\n").diagnostics.map(brief)).toEqual([
      {
        code: "SCHEMA_UNSUPPORTED_FORMAT",
        severity: "error",
        message: 'unsupported format: "v1alpha1", supported formats: ["v1alpha2"]',
        line: 1,
        column: 9,
      },
    ]);
  });

  test("a missing format (or an empty file) is the empty format", () => {
    const expected = {
      code: "SCHEMA_UNSUPPORTED_FORMAT",
      severity: "error",
      message: 'unsupported format: "", supported formats: ["v1alpha2"]',
      line: 1,
      column: 1,
    };
    expect(pkgfile("vars: {}\n").diagnostics.map(brief)).toEqual([expected]);
    expect(pkgfile("# syntax = x\n").diagnostics.map(brief)).toEqual([expected]);
  });

  test("a list as a var value is a decode error", () => {
    expect(pkgfile("format: v1alpha2\nvars:\n  A: [1, 2]\n").diagnostics.map(brief)).toEqual([
      {
        code: "SCHEMA_INVALID_TYPE",
        severity: "error",
        message: "cannot unmarshal !!seq into string",
        line: 3,
        column: 6,
      },
    ]);
  });

  test("other top-level keys are ignored with a warning", () => {
    const r = pkgfile("format: v1alpha2\nvar:\n  A: b\n");
    expect(r.value).toEqual({ format: "v1alpha2", vars: {}, labels: {} });
    expect(r.diagnostics.map(brief)).toEqual([
      {
        code: "SCHEMA_UNKNOWN_KEY",
        severity: "warning",
        message: 'unknown key "var" in Pkgfile is ignored by bldr',
        line: 2,
        column: 1,
      },
    ]);
    expect(r.diagnostics[0]!.hint).toBe('did you mean "vars"?');
  });
});

describe("decodeVars", () => {
  test("a flat mapping of scalars, each kept as its text", () => {
    const r = vars('VERSION: 1.10\nENABLED: yes\nEMPTY:\nURL: "https://x/{{ .A }}"\n');
    expect(r.diagnostics).toEqual([]);
    expect(r.value).toEqual({ VERSION: "1.10", ENABLED: "yes", EMPTY: "", URL: "https://x/{{ .A }}" });
    expectTypeOf<z.output<typeof varsSchema>>().toEqualTypeOf<Record<string, string>>();
  });

  test("an empty file has no variables", () => {
    expect(vars("# nothing here\n")).toEqual({ value: {}, diagnostics: [] });
  });

  test("a nested mapping is a decode error", () => {
    expect(vars("A: b\nNESTED:\n  X: 1\n").diagnostics.map(brief)).toEqual([
      {
        code: "SCHEMA_INVALID_TYPE",
        severity: "error",
        message: "cannot unmarshal !!map into string",
        line: 3,
        column: 3,
      },
    ]);
  });

  test("a list document is a decode error", () => {
    expect(vars("- a\n").diagnostics.map(brief)).toEqual([
      {
        code: "SCHEMA_INVALID_TYPE",
        severity: "error",
        message: "cannot unmarshal !!seq into types.Variables",
        line: 1,
        column: 1,
      },
    ]);
  });
});
