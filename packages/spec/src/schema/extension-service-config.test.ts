import { describe, expect, expectTypeOf, test } from "vitest";
import type { z } from "zod";
import type { Diagnostic } from "../errors.ts";
import { decodeYaml, decodeYamlDocuments } from "../yaml/decode.ts";
import {
  configFileStorageName,
  decodeExtensionServiceConfig,
  decodeExtensionServiceConfigs,
  type ExtensionServiceConfig,
  type extensionServiceConfigSchema,
} from "./extension-service-config.ts";

const brief = (d: Diagnostic) => ({
  code: d.code,
  severity: d.severity,
  message: d.message,
  line: d.line,
  column: d.column,
});
const decode = (text: string) => decodeExtensionServiceConfig(decodeYaml(text, { file: "esc.yaml" }));
const briefs = (text: string) => decode(text).diagnostics.map(brief);
const decodeAll = (text: string) =>
  decodeExtensionServiceConfigs(decodeYamlDocuments(text, { file: "config.yaml" }));

const HEAD = "apiVersion: v1alpha1\nkind: ExtensionServiceConfig\n";

describe("decodeExtensionServiceConfig", () => {
  test("a valid document", () => {
    const r = decode(`${HEAD}name: multipathd
configFiles:
  - mountPath: /etc/multipath.conf
    content: |
      defaults {
          user_friendly_names yes
      }
environment:
  - MULTIPATH_DEBUG=0
`);
    expect(r.diagnostics).toEqual([]);
    expect(r.value).toEqual<ExtensionServiceConfig>({
      apiVersion: "v1alpha1",
      kind: "ExtensionServiceConfig",
      name: "multipathd",
      configFiles: [
        { mountPath: "/etc/multipath.conf", content: "defaults {\n    user_friendly_names yes\n}\n" },
      ],
      environment: ["MULTIPATH_DEBUG=0"],
    });
    expectTypeOf<z.output<typeof extensionServiceConfigSchema>>().toEqualTypeOf<ExtensionServiceConfig>();
  });

  test("environment alone is enough", () => {
    expect(decode(`${HEAD}name: x\nenvironment: [A=1]\n`).value?.configFiles).toEqual([]);
  });

  test("unknown keys are errors here: Talos's config loader is strict", () => {
    const r = decode(`${HEAD}name: x\nenvironment: [A=1]\nconfigfiles: []\n`);
    expect(r.value).toBeUndefined();
    expect(r.diagnostics.map(brief)).toEqual([
      {
        code: "SCHEMA_UNKNOWN_KEY",
        severity: "error",
        message: 'unknown key "configfiles" in ExtensionServiceConfig: Talos rejects unknown keys here',
        line: 5,
        column: 1,
      },
    ]);
    expect(r.diagnostics[0]!.hint).toBe('did you mean "configFiles"?');
  });

  test("unknown keys inside a config file are errors too", () => {
    expect(
      briefs(`${HEAD}name: x\nconfigFiles:\n  - mountPath: /a\n    content: b\n    mode: 0644\n`),
    ).toEqual([
      {
        code: "SCHEMA_UNKNOWN_KEY",
        severity: "error",
        message: 'unknown key "mode" in config file: Talos rejects unknown keys here',
        line: 7,
        column: 5,
      },
    ]);
  });

  test("kind and apiVersion are checked first, like the config loader does", () => {
    expect(briefs("apiVersion: v1alpha1\nname: x\nenvironment: [A=1]\n")).toEqual([
      { code: "SCHEMA_UNSUPPORTED_DOCUMENT", severity: "error", message: "missing kind", line: 1, column: 1 },
    ]);
    expect(briefs("kind: ExtensionServiceConfig\nname: x\nenvironment: [A=1]\n")).toEqual([
      {
        code: "SCHEMA_UNSUPPORTED_DOCUMENT",
        severity: "error",
        message: "missing apiVersion",
        line: 1,
        column: 1,
      },
    ]);
    expect(
      briefs("apiVersion: v1alpha2\nkind: ExtensionServiceConfig\nname: x\nenvironment: [A=1]\n"),
    ).toEqual([
      {
        code: "SCHEMA_UNSUPPORTED_DOCUMENT",
        severity: "error",
        message: '"ExtensionServiceConfig" "v1alpha2": not registered',
        line: 1,
        column: 13,
      },
    ]);
    expect(briefs("apiVersion: v1alpha1\nkind: KernelModuleConfig\nname: x\nenvironment: [A=1]\n")).toEqual([
      {
        code: "SCHEMA_UNSUPPORTED_DOCUMENT",
        severity: "error",
        message: 'expected kind "ExtensionServiceConfig", got "KernelModuleConfig"',
        line: 2,
        column: 7,
      },
    ]);
  });

  test("name is required", () => {
    expect(briefs(`${HEAD}environment: [A=1]\n`)).toEqual([
      { code: "SCHEMA_REQUIRED", severity: "error", message: "name is required", line: 1, column: 1 },
    ]);
  });

  test("at least one of configFiles or environment", () => {
    expect(briefs(`${HEAD}name: nut-client\nconfigFiles: []\n`)).toEqual([
      {
        code: "SCHEMA_REQUIRED",
        severity: "error",
        message: 'no config files found for extension "nut-client"',
        line: 4,
        column: 14,
      },
    ]);
  });

  test("every config file needs content and a mount path", () => {
    expect(
      briefs(`${HEAD}name: x\nconfigFiles:\n  - mountPath: /etc/a\n  - content: b\n    mountPath: ""\n`),
    ).toEqual([
      {
        code: "SCHEMA_REQUIRED",
        severity: "error",
        message: 'extension content is required for extension "x"',
        line: 5,
        column: 5,
      },
      {
        code: "SCHEMA_REQUIRED",
        severity: "error",
        message: 'extension mount path is required for extension "x"',
        line: 7,
        column: 16,
      },
    ]);
  });

  test("mount paths that collide after Talos's name mangling are a warning", () => {
    const r = decode(`${HEAD}name: svc
configFiles:
  - {mountPath: /etc/foo/bar, content: a}
  - {mountPath: /etc/foo-bar, content: b}
  - {mountPath: /etc/other, content: c}
  - {mountPath: /etc/other, content: d}
`);
    expect(r.value?.configFiles).toHaveLength(4);
    expect(r.diagnostics.map(brief)).toEqual([
      {
        code: "SCHEMA_MOUNT_PATH_COLLISION",
        severity: "warning",
        message:
          'mountPath "/etc/foo-bar" collides with "/etc/foo/bar": Talos stores both as "/system/overlays/extensions/svc/etc-foo-bar"',
        line: 6,
        column: 17,
      },
      {
        code: "SCHEMA_MOUNT_PATH_COLLISION",
        severity: "warning",
        message: 'mountPath "/etc/other" is listed twice; Talos writes one file and the later content wins',
        line: 8,
        column: 17,
      },
    ]);
    expect(configFileStorageName("/usr/local/etc/nut/upsmon.conf")).toBe("usr-local-etc-nut-upsmon.conf");
  });
});

describe("decodeExtensionServiceConfigs", () => {
  test("decodes every document and skips null ones", () => {
    const r = decodeAll(`${HEAD}name: a\nenvironment: [A=1]\n---\n---\n${HEAD}name: b\nenvironment: [B=1]\n`);
    expect(r.diagnostics).toEqual([]);
    expect(r.value?.map((c) => c.name)).toEqual(["a", "b"]);
  });

  test("two documents with the same apiVersion/kind/name are rejected", () => {
    const r = decodeAll(`${HEAD}name: a\nenvironment: [A=1]\n---\n${HEAD}name: a\nenvironment: [A=2]\n`);
    expect(r.value).toBeUndefined();
    expect(r.diagnostics.map(brief)).toEqual([
      {
        code: "SCHEMA_DUPLICATE_DOCUMENT",
        severity: "error",
        message: "duplicate document v1alpha1/ExtensionServiceConfig/a is not allowed",
        line: 6,
        column: 1,
      },
    ]);
  });

  test("problems of every document are reported", () => {
    const r = decodeAll(`${HEAD}name: a\n---\n${HEAD}environment: [A=1]\n`);
    expect(r.diagnostics.map((d) => [d.message, d.line])).toEqual([
      ['no config files found for extension "a"', 1],
      ["name is required", 5],
    ]);
  });
});
