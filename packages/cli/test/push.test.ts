import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { expectNoStack, talosExt } from "./run.ts";

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "cli-push-"));
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe("push", () => {
  test.each([
    { output: "text", flags: [] as string[] },
    { output: "--json", flags: ["--json"] },
  ])("a reference with user:password@ is refused, the password never printed ($output)", ({ flags }) => {
    const r = talosExt([
      "push",
      ...flags,
      join(work, "layout"),
      "ci:hunter2-secret@127.0.0.1:5000/ext/foo:v1",
    ]);
    expect(r.code).toBe(1);
    expect(`${r.stdout}${r.stderr}`).toContain("REGISTRY_BAD_REFERENCE");
    expect(`${r.stdout}${r.stderr}`).not.toContain("hunter2-secret");
    expectNoStack(r.stderr);
  });
});
