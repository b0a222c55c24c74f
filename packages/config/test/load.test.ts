import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { CONFIG_ERROR_CODES, configSchema, loadConfig } from "../src/index.ts";
import { configJsonSchemaText } from "../src/json-schema-file.ts";

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "talos-ext-config-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

let n = 0;
async function workspace(yaml: string): Promise<string> {
  const dir = join(work, `ws${n++}`);
  await mkdir(join(dir, "extensions/multipath-tools"), { recursive: true });
  await writeFile(join(dir, "talos-ext.yaml"), yaml);
  return dir;
}

const FULL = `# a complete workspace
talos:
  version: v1.13.0
platforms: [linux/amd64, linux/arm64]
tree:
  root: extensions
registry:
  repository: registry.example/ext
  caFile: certs/ca.pem
  credentials: docker-config
mirrors:
  images: ["ghcr.io/siderolabs=registry.internal/mirror"]
  sources: ["https://github.com=https://mirror.internal/github"]
cache:
  sources: ~/.cache/talos-ext/sources
cluster:
  talosconfig: ./talosconfig
  context: prod
  nodes:
    controlPlane: [10.5.0.2, 10.5.0.3, 10.5.0.4]
    worker: [10.5.0.5]
extensions:
  add: [multipath-tools]
  official: [siderolabs/iscsi-tools]
installer:
  route: auto
  factory: https://factory.talos.dev
  platform: metal
rollout:
  maxParallel: 2
  rollbackOnFailure: true
  timeoutSeconds: 600
`;

const codesOf = (e: unknown) =>
  (e as { diagnostics: { code: string; line?: number; column?: number }[] }).diagnostics.map((d) => [
    d.code,
    d.line,
    d.column,
  ]);

describe("loadConfig", () => {
  test("finds the file upward, validates it and resolves paths against its directory", async () => {
    const dir = await workspace(FULL);
    const r = await loadConfig({ cwd: join(dir, "extensions/multipath-tools"), env: {} });
    expect(r.file).toBe(join(dir, "talos-ext.yaml"));
    expect(r.config.talos.version).toBe("v1.13.0");
    expect(r.config.tree?.root).toBe(join(dir, "extensions"));
    expect(r.config.registry?.caFile).toBe(join(dir, "certs/ca.pem"));
    expect(r.config.cluster?.talosconfig).toBe(join(dir, "talosconfig"));
    expect(r.config.cache?.sources).toBe(join(homedir(), ".cache/talos-ext/sources"));
    expect(r.config.cluster?.nodes?.controlPlane).toHaveLength(3);
    expect(r.origins).toEqual({});
  });

  test("env overrides the file and flags override env; origins are recorded", async () => {
    const dir = await workspace(FULL);
    const r = await loadConfig({
      cwd: dir,
      env: { TALOS_EXT_TALOS_VERSION: "v1.12.4", TALOS_EXT_PLATFORMS: "linux/arm64", TALOSCONFIG: "tc" },
      overrides: [{ key: "talos.version", value: "v1.14.0", origin: "--talos-version" }],
    });
    expect(r.config.talos.version).toBe("v1.14.0");
    expect(r.config.platforms).toEqual(["linux/arm64"]);
    // An env path is relative to the working directory, not the file.
    expect(r.config.cluster?.talosconfig).toBe(join(dir, "tc"));
    expect(r.origins).toEqual({
      "talos.version": "--talos-version",
      platforms: "env TALOS_EXT_PLATFORMS",
      "cluster.talosconfig": "env TALOSCONFIG",
    });
  });

  test("every problem at once, each with its key and file:line:col, and a did-you-mean", async () => {
    const dir = await workspace(
      ["talos:", "  version: 1.13", "platfroms: [linux/amd64]", "rollout:", "  maxParallel: 0", ""].join(
        "\n",
      ),
    );
    const e = await loadConfig({ cwd: dir, env: {} }).catch((x: unknown) => x);
    expect(e).toMatchObject({
      code: "CONFIG_INVALID",
      location: { file: join(dir, "talos-ext.yaml"), line: 2 },
    });
    expect(codesOf(e)).toEqual([
      ["CONFIG_INVALID_VALUE", 2, 12],
      ["CONFIG_UNKNOWN_KEY", 3, 1],
      ["CONFIG_INVALID_VALUE", 5, 16],
    ]);
    const unknown = (e as { diagnostics: { code: string; hint?: string }[] }).diagnostics[1]!;
    expect(unknown.hint).toBe('did you mean "platforms"?');
  });

  test("a missing required key points at its parent; a value from env names the variable", async () => {
    const dir = await workspace("talos: {}\n");
    const e = await loadConfig({ cwd: dir, env: {} }).catch((x: unknown) => x);
    expect(codesOf(e)).toEqual([["CONFIG_MISSING_KEY", 1, 8]]);
    const bad = await loadConfig({ cwd: dir, env: { TALOS_EXT_TALOS_VERSION: "latest" } }).catch(
      (x: unknown) => x,
    );
    const d = (bad as { diagnostics: { code: string; message: string; line?: number }[] }).diagnostics[0]!;
    expect(d.code).toBe("CONFIG_INVALID_VALUE");
    expect(d.message).toContain("env TALOS_EXT_TALOS_VERSION");
    expect(d.line).toBeUndefined();
  });

  test("a secret in the file is refused without echoing it", async () => {
    const dir = await workspace(
      "talos:\n  version: v1.13.0\nregistry:\n  repository: r.example/x\n  password: hunter2\n",
    );
    const e = await loadConfig({ cwd: dir, env: {} }).catch((x: unknown) => x);
    expect(codesOf(e)).toEqual([["CONFIG_INLINE_SECRET", 5, 3]]);
    expect(JSON.stringify((e as { diagnostics: unknown }).diagnostics)).not.toContain("hunter2");
    expect((e as Error).message).not.toContain("hunter2");
  });

  test("no file: CONFIG_NOT_FOUND, or env and flags alone when allowed", async () => {
    const empty = join(work, "empty");
    await mkdir(empty, { recursive: true });
    await expect(loadConfig({ cwd: "/", file: join(empty, "nope.yaml"), env: {} })).rejects.toMatchObject({
      code: "CONFIG_NOT_FOUND",
    });
    const r = await loadConfig({
      cwd: empty,
      file: undefined,
      env: { TALOS_EXT_TALOS_VERSION: "v1.13.1" },
      allowMissing: true,
    });
    expect(r.file === undefined || !r.file.startsWith(empty)).toBe(true);
  });

  test("hostile files: a FIFO, a directory, an oversized file and an alias bomb are refused with codes", async () => {
    const { execFileSync } = await import("node:child_process");
    const fifo = join(work, "fifo");
    await mkdir(fifo, { recursive: true });
    execFileSync("mkfifo", [join(fifo, "talos-ext.yaml")]);
    await expect(loadConfig({ cwd: fifo, env: {} })).rejects.toMatchObject({ code: "CONFIG_UNREADABLE" });
    const asDir = join(work, "asdir");
    await mkdir(join(asDir, "talos-ext.yaml"), { recursive: true });
    await expect(loadConfig({ cwd: asDir, env: {} })).rejects.toMatchObject({ code: "CONFIG_UNREADABLE" });
    const big = await workspace(`talos:\n  version: v1.13.0\n#${"x".repeat(1024 * 1024)}\n`);
    await expect(loadConfig({ cwd: big, env: {} })).rejects.toMatchObject({ code: "CONFIG_UNREADABLE" });
    const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 0; i < 9; i++)
      lines.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`,
      );
    const bomb = await workspace(`${lines.join("\n")}\n`);
    const e = await loadConfig({ cwd: bomb, env: {} }).catch((x: unknown) => x);
    expect((e as { code: string }).code).toMatch(/^YAML_/);
  });

  test("an override of an unknown key is a coded error", async () => {
    const dir = await workspace(FULL);
    await expect(
      loadConfig({ cwd: dir, env: {}, overrides: [{ key: "talos.versoin", value: "v1", origin: "--x" }] }),
    ).rejects.toMatchObject({ code: "CONFIG_BAD_OVERRIDE" });
  });
});

describe("the JSON Schema", () => {
  test("the committed schema is what the generator writes", async () => {
    const committed = await readFile(new URL("../schemas/talos-ext.schema.json", import.meta.url), "utf8");
    expect(committed).toBe(configJsonSchemaText());
  });

  test("it is strict at every level and describes every key", () => {
    const schema = JSON.parse(configJsonSchemaText());
    const visit = (s: Record<string, unknown>, at: string) => {
      if (s.type === "object" && s.properties) {
        expect(s.additionalProperties, at).toBe(false);
        for (const [k, v] of Object.entries(s.properties as Record<string, Record<string, unknown>>)) {
          expect(typeof v.description, `${at}.${k}`).toBe("string");
          visit(v, `${at}.${k}`);
        }
      }
    };
    visit(schema, "$");
    expect(schema.required).toEqual(["talos"]);
    expect(configSchema.safeParse({ talos: { version: "v1.13.0" } }).success).toBe(true);
  });
});

test("docs/error-codes.md lists every config code and no other CONFIG_ code", async () => {
  const doc = await readFile(new URL("../../../docs/error-codes.md", import.meta.url), "utf8");
  const documented = [...doc.matchAll(/`(CONFIG_[A-Z_]+)`/g)].map((m) => m[1]);
  expect(new Set(documented)).toEqual(new Set(CONFIG_ERROR_CODES));
});
