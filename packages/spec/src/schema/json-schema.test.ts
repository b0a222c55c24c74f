import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { hasErrors } from "../errors.ts";
import { decodeYaml } from "../yaml/decode.ts";
import { decodeExtensionServiceConfig } from "./extension-service-config.ts";
import { RUNTIME_ONLY } from "./go.ts";
import { JSON_SCHEMA_NAMES, type JsonSchemaName, jsonSchemaFiles, jsonSchemas } from "./json-schema.ts";
import { decodeManifest } from "./manifest.ts";
import { decodePkg } from "./pkg.ts";
import { decodePkgfile, decodeVars } from "./pkgfile.ts";
import { decodeServiceSpec } from "./service.ts";

const SCHEMA_DIR = new URL("../../schemas/", import.meta.url);

type Json = Record<string, unknown>;

/**
 * A small validator for the JSON Schema keywords our generator emits (type, enum, pattern,
 * properties, required, additionalProperties, items, anyOf). Enough to check that documents an
 * editor sees are accepted or refused as intended; it returns the paths of the violations.
 */
function violations(schema: Json, value: unknown, path = "$"): string[] {
  const out: string[] = [];
  if (Array.isArray(schema.anyOf)) {
    const ok = (schema.anyOf as Json[]).some((s) => violations(s, value, path).length === 0);
    if (!ok) out.push(`${path}: no anyOf branch matches`);
  }
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const actual =
      value === null
        ? "null"
        : Array.isArray(value)
          ? "array"
          : Number.isInteger(value)
            ? "integer"
            : typeof value;
    const ok = types.some((t) => t === actual || (t === "number" && actual === "integer"));
    if (!ok) return [...out, `${path}: expected ${types.join("|")}, got ${actual}`];
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) out.push(`${path}: not in enum`);
  if (
    typeof schema.pattern === "string" &&
    typeof value === "string" &&
    !new RegExp(schema.pattern).test(value)
  ) {
    out.push(`${path}: does not match pattern`);
  }
  if (typeof schema.minimum === "number" && typeof value === "number" && value < schema.minimum)
    out.push(`${path}: too small`);
  if (typeof schema.maximum === "number" && typeof value === "number" && value > schema.maximum)
    out.push(`${path}: too large`);
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const props = (schema.properties ?? {}) as Record<string, Json>;
    for (const key of (schema.required ?? []) as string[]) {
      if (!(key in value)) out.push(`${path}.${key}: required`);
    }
    for (const [key, v] of Object.entries(value)) {
      if (props[key]) out.push(...violations(props[key], v, `${path}.${key}`));
      else if (schema.additionalProperties === false) out.push(`${path}.${key}: not allowed`);
      else if (typeof schema.additionalProperties === "object") {
        out.push(...violations(schema.additionalProperties as Json, v, `${path}.${key}`));
      }
    }
  }
  if (Array.isArray(value) && schema.items && typeof schema.items === "object") {
    value.forEach((item, i) => {
      out.push(...violations(schema.items as Json, item, `${path}[${i}]`));
    });
  }
  return out;
}

const schemas = jsonSchemas() as Record<JsonSchemaName, Json>;
// Editors parse YAML 1.2: `true` is a boolean, `1.10` a number, `yes` a string.
const check = (name: JsonSchemaName, yamlText: string) => violations(schemas[name], parse(yamlText));

const SAMPLES: Record<JsonSchemaName, { text: string; decode: (text: string) => boolean }> = {
  pkgfile: {
    text: "# syntax = ghcr.io/siderolabs/bldr:v0.6.3\nformat: v1alpha2\nvars:\n  VERSION: 1.10\n  ON: true\nlabels:\n  a: b\n",
    decode: (t) => !hasErrors(decodePkgfile(decodeYaml(t, { file: "Pkgfile" })).diagnostics),
  },
  pkg: {
    text: `name: app
variant: alpine
install: [bash]
dependencies:
  - stage: base
    runtime: yes
  - image: alpine:3.21
    platform: linux/arm64
steps:
  - sources:
      - url: https://example.invalid/a.tar.gz
        destination: a.tar.gz
        sha256: ${"a".repeat(64)}
        sha512: ${"b".repeat(128)}
    env: {CGO_ENABLED: 0}
    build:
      - make
    network: default
finalize:
  - from: /rootfs
    to: /
`,
    decode: (t) => !hasErrors(decodePkg(decodeYaml(t, { file: "pkg.yaml" })).diagnostics),
  },
  vars: {
    text: "VERSION: 1.2.3\nSHA: abc\nN: 5\n",
    decode: (t) => !hasErrors(decodeVars(decodeYaml(t, { file: "vars.yaml" })).diagnostics),
  },
  manifest: {
    text: 'version: v1alpha1\nmetadata:\n  name: x\n  version: "1.0"\n  compatibility:\n    talos:\n      version: ">= v1.10.0"\n',
    decode: (t) => !hasErrors(decodeManifest(decodeYaml(t, { file: "manifest.yaml" })).diagnostics),
  },
  service: {
    text: `name: multipathd
container:
  entrypoint: /usr/local/sbin/multipathd
  security: {writeableRootfs: true, maskedPaths: [], readonlyPaths: ~}
  mounts:
    - {source: /dev, destination: /dev, type: bind, options: [rbind, rw], uidmappings: [{containerid: 0, hostid: 100000, size: 65536}]}
depends:
  - network: [addresses, Connectivity]
  - time: true
restart: UntilSuccess
`,
    decode: (t) => !hasErrors(decodeServiceSpec(decodeYaml(t, { file: "svc.yaml" })).diagnostics),
  },
  "extension-service-config": {
    text: "apiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: nut-client\nconfigFiles:\n  - {mountPath: /etc/x, content: y}\nenvironment: [A=1]\n",
    decode: (t) => !hasErrors(decodeExtensionServiceConfig(decodeYaml(t, { file: "esc.yaml" })).diagnostics),
  },
};

describe("generated JSON Schemas", () => {
  test("the committed files equal freshly generated output (run `pnpm gen:schemas` after a schema change)", () => {
    const expected = jsonSchemaFiles();
    const committed = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith(".schema.json"));
    expect(committed.sort()).toEqual(Object.keys(expected).sort());
    for (const [name, text] of Object.entries(expected)) {
      expect(readFileSync(new URL(name, SCHEMA_DIR), "utf8"), name).toBe(text);
    }
  });

  test.each(JSON_SCHEMA_NAMES)("%s: draft 2020-12, with $id, title and description", (name) => {
    const s = schemas[name];
    expect(s.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(s.$id).toBe(`urn:talos-ext:schema:${name}`);
    expect(typeof s.title).toBe("string");
    expect(typeof s.description).toBe("string");
    expect(s.type).toBe("object");
    expect(JSON.stringify(s)).not.toContain(RUNTIME_ONLY);
  });

  test("required keys are the ones Go's validation insists on", () => {
    expect(schemas.pkgfile.required).toEqual(["format"]);
    expect(schemas.pkg.required).toEqual(["name", "variant"]);
    expect(schemas.manifest.required).toEqual(["version"]);
    expect(schemas.service.required).toEqual(["name", "container", "restart"]);
    expect(schemas["extension-service-config"].required).toEqual(["apiVersion", "kind", "name"]);
    expect(schemas["extension-service-config"].additionalProperties).toBe(false);
    expect(schemas.pkg.additionalProperties).toBeUndefined();
  });

  test.each(JSON_SCHEMA_NAMES)("%s: a valid sample passes the schema and the decoder alike", (name) => {
    const sample = SAMPLES[name];
    expect(check(name, sample.text)).toEqual([]);
    expect(sample.decode(sample.text)).toBe(true);
  });

  test("invalid documents are refused", () => {
    expect(check("pkg", "name: x\n")).toEqual(["$.variant: required"]);
    expect(check("pkg", "name: x\nvariant: debian\n")).toEqual(["$.variant: not in enum"]);
    expect(check("pkg", "name: x\nvariant: alpine\nsteps: [{network: lan, build: make}]\n")).toEqual([
      "$.steps[0].network: not in enum",
      "$.steps[0].build: expected array, got string",
    ]);
    // A quoted "true" is a string to Go too; only the YAML 1.1 words are accepted as strings.
    expect(check("pkg", 'name: x\nvariant: alpine\ndependencies: [{stage: a, runtime: "true"}]\n')).toEqual([
      "$.dependencies[0].runtime: no anyOf branch matches",
    ]);
    expect(check("service", "name: s\ncontainer: {entrypoint: x}\nrestart: sometimes\n")).toEqual([
      "$.restart: does not match pattern",
    ]);
    expect(check("service", "name: s\ncontainer: {}\nrestart: never\n")).toEqual([
      "$.container.entrypoint: required",
    ]);
    expect(
      check(
        "extension-service-config",
        "apiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: x\nextra: 1\n",
      ),
    ).toEqual(["$.extra: not allowed"]);
    expect(
      check(
        "extension-service-config",
        "apiVersion: v1alpha1\nkind: ExtensionServiceConfig\nname: x\nconfigFiles: [{mountPath: /a}]\n",
      ),
    ).toEqual(["$.configFiles[0].content: required"]);
    expect(check("vars", "A:\n  B: c\n")).toEqual(["$.A: expected string|number|boolean|null, got object"]);
  });
});
