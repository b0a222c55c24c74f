/** A slow source download shows progress in `build`: start, while it runs, and once verified. */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type SourceServer, startSourceServer } from "../../../tools/harness/source-server.ts";
import { BIN } from "./run.ts";

const NO_DOCKER = { PATH: `/nonexistent:${process.env.PATH}`, DOCKER_HOST: "unix:///nonexistent.sock" };
const PAYLOAD = randomBytes(1 << 20);
const hash = (alg: string) => createHash(alg).update(PAYLOAD).digest("hex");

let tmp: string;
let server: SourceServer;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "talos-ext-cli-progress-"));
  server = await startSourceServer();
  server.addFile("payload.bin", PAYLOAD);
});
afterAll(async () => {
  await server?.close();
  await rm(tmp, { recursive: true, force: true });
});

/** Runs the binary without blocking the event loop: the source server lives in this process. */
function run(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...NO_DOCKER } });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.stdout.resume();
    child.on("close", (code) => resolve({ code: code ?? -1, stderr }));
  });
}

test("build prints a line when a download starts, every 2 s while it runs, and when verified", async () => {
  const root = join(tmp, "tree");
  await mkdir(join(root, "fetch"), { recursive: true });
  await writeFile(join(root, "Pkgfile"), "# syntax = ghcr.io/siderolabs/bldr:v0.5.0\n\nformat: v1alpha2\n");
  // A secret in the query must never be shown; the URL is printed without it.
  const url = `${server.url}/slow/payload.bin?interval=700&chunk=262144&token=hunter2`;
  await writeFile(
    join(root, "fetch/pkg.yaml"),
    [
      "name: fetch",
      "variant: scratch",
      "steps:",
      "  - sources:",
      `      - url: ${url}`,
      "        destination: payload.bin",
      `        sha256: ${hash("sha256")}`,
      `        sha512: ${hash("sha512")}`,
      "finalize:",
      "  - from: /pkg",
      "    to: /",
      "",
    ].join("\n"),
  );
  const r = await run([
    "build",
    "fetch",
    "--root",
    root,
    "--platform",
    "linux/amd64",
    "--cache-dir",
    join(tmp, "cache"),
    "--output",
    join(tmp, "out"),
  ]);
  expect(r.stderr).toMatch(/linux\/amd64: downloading http:\/\/127\.0\.0\.1:\d+\/slow\/payload\.bin\n/);
  expect(r.stderr).toMatch(/payload\.bin: \d+ of 1048576 bytes after \d+\.\ds/);
  expect(r.stderr).toContain("verified");
  expect(r.stderr).toMatch(/verified http:\/\/127\.0\.0\.1:\d+\/slow\/payload\.bin \(1048576 bytes\)/);
  expect(r.stderr).not.toContain("hunter2");
  expect(r.code).toBe(0);
});
