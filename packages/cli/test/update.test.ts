/**
 * `talos-ext update`, run in-process through the command's own argument parsing (the binary test
 * belongs with the lead's registration in cli.ts).
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type SourceServer, startSourceServer } from "../../../tools/harness/source-server.ts";
import { parseCommandArgs } from "../src/command.ts";
import { updateCommand } from "../src/commands/update.ts";
import type { CliIo } from "../src/io.ts";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const sha512 = (s: string) => createHash("sha512").update(s).digest("hex");
const OLD = "app one\n";
const NEW = "app two\n";

let server: SourceServer;
let tmp: string;
beforeAll(async () => {
  server = await startSourceServer();
  server.addFile("app-1.tgz", OLD);
  server.addFile("app-2.tgz", NEW);
  tmp = await mkdtemp(join(tmpdir(), "talos-ext-cli-update-"));
});
afterAll(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

async function tree(version: string): Promise<string> {
  const root = await mkdtemp(join(tmp, "tree-"));
  const files: Record<string, string> = {
    Pkgfile: "# syntax = ghcr.io/siderolabs/bldr:v0.6.3\nformat: v1alpha2\n",
    "vars.yaml": `APP_VERSION: ${version} # renovate: depName=x/app\nAPP_SHA256: ${sha256(OLD)}\nAPP_SHA512: ${sha512(OLD)}\n`,
    "app/pkg.yaml": [
      "name: app",
      "variant: scratch",
      "steps:",
      "  - sources:",
      `      - url: ${server.url}/file/app-{{ .APP_VERSION }}.tgz`,
      "        destination: app.tgz",
      '        sha256: "{{ .APP_SHA256 }}"',
      '        sha512: "{{ .APP_SHA512 }}"',
      "finalize:",
      "  - from: /",
      "    to: /",
      "",
    ].join("\n"),
  };
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), text);
  }
  return root;
}

async function run(argv: string[], stdin?: string) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo & { stdin?: () => Promise<string> } = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    cwd: tmp,
    env: { TALOS_EXT_CACHE_DIR: join(tmp, "cache") },
    interactive: false,
    ...(stdin !== undefined ? { stdin: async () => stdin } : {}),
  };
  const { values, positionals } = parseCommandArgs(updateCommand, argv);
  const code = await updateCommand.run({ values, positionals, io, json: values.json === true });
  return { code, stdout: out.join(""), stderr: err.join("") };
}

describe("talos-ext update", () => {
  test("--dry-run prints the diff and writes nothing", async () => {
    const root = await tree("2");
    const before = await readFile(join(root, "vars.yaml"), "utf8");
    const r = await run(["APP_VERSION", "--root", root, "--dry-run"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`-APP_SHA256: ${sha256(OLD)}\n`);
    expect(r.stdout).toContain(`+APP_SHA256: ${sha256(NEW)}\n`);
    expect(r.stdout).toContain("dry run: 1 file(s) would change");
    expect(await readFile(join(root, "vars.yaml"), "utf8")).toBe(before);
  });

  test("--json updates the file and stores the download in the cache from the environment", async () => {
    const root = await tree("2");
    const r = await run(["APP_VERSION", "--root", root, "--file", "vars.yaml", "--json"]);
    const out = JSON.parse(r.stdout);
    expect(out.ok).toBe(true);
    expect(out.files.map((f: { file: string }) => f.file)).toEqual(["vars.yaml"]);
    expect(await readFile(join(root, "vars.yaml"), "utf8")).toBe(
      `APP_VERSION: 2 # renovate: depName=x/app\nAPP_SHA256: ${sha256(NEW)}\nAPP_SHA512: ${sha512(NEW)}\n`,
    );
    expect(out.sources[0].cachePath).toBe(join(tmp, "cache", "sha256", sha256(NEW)));
    expect(await readFile(out.sources[0].cachePath, "utf8")).toBe(NEW);
  });

  test("--diff reads the diff from stdin", async () => {
    const root = await tree("2");
    const diff = "--- a/vars.yaml\n+++ b/vars.yaml\n@@ -1 +1 @@\n-APP_VERSION: 1\n+APP_VERSION: 2\n";
    const r = await run(["--diff", "--root", root], diff);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("updated vars.yaml (2 replacement(s))");
    expect(await readFile(join(root, "vars.yaml"), "utf8")).toContain(sha512(NEW));
  });

  test("usage errors and a failed download carry their codes", async () => {
    const root = await tree("3");
    await expect(run(["--root", root])).rejects.toMatchObject({ code: "CLI_USAGE" });
    await expect(run(["APP_VERSION", "--diff", "--root", root], "")).rejects.toMatchObject({
      code: "CLI_USAGE",
    });
    const before = await readFile(join(root, "vars.yaml"), "utf8");
    await expect(run(["APP_VERSION", "--root", root])).rejects.toMatchObject({
      code: "UPDATE_DOWNLOAD_FAILED",
    });
    expect(await readFile(join(root, "vars.yaml"), "utf8")).toBe(before);
  });
});
