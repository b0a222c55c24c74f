import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, type EngineBuildRequest, runEngineBuild } from "./engine.ts";

// A stand-in engine CLI (a shell script), so process handling is tested without BuildKit.
let work: string;
let sleeper: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "engine-proc-"));
  sleeper = join(work, "fake-buildctl");
  await writeFile(sleeper, "#!/bin/sh\necho '#1 [internal] load build definition'\nexec sleep 30\n");
  await chmod(sleeper, 0o755);
});
afterAll(() => rm(work, { recursive: true, force: true }));

const engine = (cli: string): Engine => ({
  kind: "buildctl",
  cli,
  description: "fake buildctl",
  syntax: "modern",
});
const request = (extra: Partial<EngineBuildRequest> = {}): EngineBuildRequest => ({
  contextDir: work,
  dockerfile: join(work, "Dockerfile"),
  target: "final",
  platform: "linux/amd64",
  outputTar: join(work, "out.tar"),
  network: "none",
  ...extra,
});

describe("engine processes (execa)", () => {
  it("a missing engine CLI is BUILD_ENGINE_FAILED", async () => {
    await expect(
      runEngineBuild(engine(join(work, "no-such-cli")), request(), () => undefined),
    ).rejects.toMatchObject({ code: "BUILD_ENGINE_FAILED", message: expect.stringContaining("ENOENT") });
  });

  it("a build past its timeout is stopped: BUILD_ENGINE_FAILED", async () => {
    await expect(
      runEngineBuild(engine(sleeper), request({ timeoutMs: 200 }), () => undefined),
    ).rejects.toMatchObject({ code: "BUILD_ENGINE_FAILED", message: expect.stringContaining("200 ms") });
  });

  it("an aborted build stops the engine and throws the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error("interrupted by the test");
    const p = runEngineBuild(engine(sleeper), request({ signal: controller.signal }), () => undefined);
    setTimeout(() => controller.abort(reason), 100);
    await expect(p).rejects.toBe(reason);
  });
});
