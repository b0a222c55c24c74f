import { describe, expect, expectTypeOf, test } from "vitest";
import type { z } from "zod";
import type { Diagnostic } from "../errors.ts";
import { decodeYaml } from "../yaml/decode.ts";
import { decodeManifest, type ExtensionManifest, type manifestSchema } from "./manifest.ts";

const brief = (d: Diagnostic) => ({
  code: d.code,
  severity: d.severity,
  message: d.message,
  line: d.line,
  column: d.column,
});
const decode = (text: string) => decodeManifest(decodeYaml(text, { file: "manifest.yaml" }));

describe("decodeManifest", () => {
  test("a complete manifest", () => {
    const r = decode(`version: v1alpha1
metadata:
  name: multipath-tools
  version: 0.13.0
  author: Example Org
  description: |
    [extra] Provides multipathd.
  compatibility:
    talos:
      version: ">= v1.10.0"
`);
    expect(r.diagnostics).toEqual([]);
    expect(r.value).toEqual<ExtensionManifest>({
      version: "v1alpha1",
      metadata: {
        name: "multipath-tools",
        version: "0.13.0",
        author: "Example Org",
        description: "[extra] Provides multipathd.\n",
        compatibility: { talos: { version: ">= v1.10.0" } },
      },
    });
    expectTypeOf<z.output<typeof manifestSchema>>().toEqualTypeOf<ExtensionManifest>();
  });

  test("decoding is lenient: missing metadata fields are empty, extraInfo only when written", () => {
    const r = decode("version: v1alpha1\nmetadata:\n  name: x\n  extraInfo: ~\n");
    expect(r.value?.metadata).toEqual({
      name: "x",
      version: "",
      author: "",
      description: "",
      compatibility: { talos: { version: "" } },
      extraInfo: "",
    });
    expect("extraInfo" in decode("version: v1alpha1\n").value!.metadata).toBe(false);
  });

  test("version must be exactly v1alpha1", () => {
    expect(decode("version: v1alpha2\nmetadata: {name: x}\n").diagnostics.map(brief)).toEqual([
      {
        code: "SCHEMA_MANIFEST_VERSION",
        severity: "error",
        message: 'unsupported manifest version: "v1alpha2"',
        line: 1,
        column: 10,
      },
    ]);
  });

  test('an empty document, or no version, is version ""', () => {
    const expected = {
      code: "SCHEMA_MANIFEST_VERSION",
      severity: "error",
      message: 'unsupported manifest version: ""',
      line: 1,
      column: 1,
    };
    expect(decode("").diagnostics.map(brief)).toEqual([expected]);
    // A `---`-only document: the (null) content starts after the marker.
    expect(decode("---\n").diagnostics.map(brief)).toEqual([{ ...expected, line: 1, column: 4 }]);
    expect(decode("metadata:\n  name: x\n").diagnostics.map(brief)).toEqual([expected]);
  });

  test("unknown keys are ignored by Talos and warned about", () => {
    const r = decode("version: v1alpha1\nmetadata:\n  name: x\n  descripton: typo\n");
    expect(r.value?.metadata.description).toBe("");
    expect(r.diagnostics.map(brief)).toEqual([
      {
        code: "SCHEMA_UNKNOWN_KEY",
        severity: "warning",
        message: 'unknown key "descripton" in manifest metadata is ignored by Talos',
        line: 4,
        column: 3,
      },
    ]);
    expect(r.diagnostics[0]!.hint).toBe('did you mean "description"?');
  });

  test("a list as the version is a decode error", () => {
    expect(decode("version: [v1alpha1]\n").diagnostics.map(brief)).toEqual([
      {
        code: "SCHEMA_INVALID_TYPE",
        severity: "error",
        message: "cannot unmarshal !!seq into string",
        line: 1,
        column: 10,
      },
    ]);
  });
});
