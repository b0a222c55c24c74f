/**
 * rebuild: `talos-ext build` with nothing changed. (a) usb-serial-rules, assembled without an
 * engine: the whole rebuild is ours. (b) hello-service, built by the docker engine: once the
 * engine's cache is warm, our build() against the bare engine command it runs.
 *
 * The bare command is captured, not re-derived: one warm-up build runs through a wrapper CLI
 * (TALOS_EXT_DOCKER) that records the engine's command line and copies its build context;
 * the baseline replays exactly that command against the copy. So both sides hand the same
 * Dockerfile and context to the same engine, and the difference is our overhead: planning,
 * context writing, source checks, extracting the output, validation and the OCI write.
 */
import { chmod, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { compare, run, withTempDir } from "../lib.ts";
import { loadImage, REPO_ROOT, requireExport } from "../modules.ts";
import { type BenchCase, type CaseContext, type Row, ratio, Skip } from "../types.ts";

type ImageBuild = (options: {
  root: string;
  target: string;
  platforms: ("linux/amd64" | "linux/arm64")[];
  outDir: string;
  env?: NodeJS.ProcessEnv;
  mirrors?: { prefix: string; replacement: string }[];
}) => Promise<{ digest: string; platforms: { engine: string }[] }>;
type DetectEngine = (
  kind?: string,
  env?: NodeJS.ProcessEnv,
) => { kind: string; cli: string; description: string };
type DockerHarness = typeof import("../../harness/docker.ts");
type ToolchainHarness = typeof import("../../harness/toolchain.ts");

const AIM_MS = 2000;
const EXTENSIONS = join(REPO_ROOT, "extensions");
const NATIVE_TARGET = "usb-serial-rules";
const ENGINE_TARGET = "hello-service";
const ENGINE_MEASURE = `${ENGINE_TARGET} (engine) rebuild: build() vs bare engine build`;
const MIRRORS = [{ prefix: "ghcr.io/talos-ext-playground", replacement: "talos-ext.local" }];

const WRAPPER = `#!/bin/bash
# Benchmark capture: records an engine build's command line and copies its context, then runs
# the real CLI unchanged.
if [ "$1" = build ] || { [ "$1" = buildx ] && [ "$2" = build ]; }; then
  printf '%s\\0' "$@" > "$BENCH_CAPTURE/args"
  ctx="\${@: -1}"
  for a in "$@"; do case "$a" in context=*) ctx="\${a#context=}";; esac; done
  printf '%s' "$ctx" > "$BENCH_CAPTURE/context-path"
  cp -a "$ctx" "$BENCH_CAPTURE/context"
fi
exec "$BENCH_REAL_CLI" "$@"
`;

async function nativeRow(ctx: CaseContext, build: ImageBuild): Promise<Row> {
  return withTempDir("rebuild-native", async (work) => {
    // No docker reachable: proves the path needs no engine.
    const env = { ...process.env, PATH: "/nonexistent", DOCKER_HOST: "unix:///nonexistent.sock" };
    const outDir = join(work, "out");
    let engine = "";
    const t = await compare(
      [
        {
          name: "ours",
          run: async () => {
            const res = await build({
              root: EXTENSIONS,
              target: NATIVE_TARGET,
              platforms: ["linux/amd64"],
              outDir,
              env,
            });
            engine = res.platforms[0]?.engine ?? "";
          },
          after: () => rm(outDir, { recursive: true, force: true }),
        },
      ],
      { runs: ctx.runs, warmup: Math.max(1, ctx.warmup), log: ctx.log },
    );
    const ours = t.get("ours")!;
    return {
      measure: `${NATIVE_TARGET} (native) rebuild: build()`,
      ours,
      aim: `< ${AIM_MS} ms in total`,
      met: ours.medianMs < AIM_MS,
      details: { engine },
    };
  });
}

async function engineRow(ctx: CaseContext, build: ImageBuild, detectEngine: DetectEngine): Promise<Row> {
  let docker: DockerHarness;
  let toolchain: ToolchainHarness;
  try {
    docker = (await import(new URL("../../harness/docker.ts", import.meta.url).href)) as DockerHarness;
    toolchain = (await import(
      new URL("../../harness/toolchain.ts", import.meta.url).href
    )) as ToolchainHarness;
  } catch (e) {
    throw new Skip(`the docker harness is not usable: ${(e as Error).message}`);
  }
  let engine: Awaited<ReturnType<DockerHarness["startDockerEngine"]>>;
  try {
    engine = await docker.startDockerEngine();
  } catch (e) {
    throw new Skip(`no docker engine: ${(e as Error).message.split("\n")[0]}`);
  }
  try {
    const t0 = performance.now();
    try {
      toolchain.ensureToolchainImage(engine.cli, engine.host);
    } catch (e) {
      throw new Skip(`the toolchain image is not available: ${(e as Error).message.split("\n")[0]}`);
    }
    const prepMs = performance.now() - t0;
    if (prepMs > 5000)
      ctx.note(`made the toolchain image first (${(prepMs / 1000).toFixed(0)} s, once per machine)`);
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: engine.host };
    const real = detectEngine("auto", env);

    return await withTempDir("rebuild-engine", async (work) => {
      const capture = join(work, "capture");
      await run("mkdir", ["-p", capture]);
      const wrapper = join(work, "docker-capture");
      await writeFile(wrapper, WRAPPER);
      await chmod(wrapper, 0o755);
      const outDir = join(work, "out");
      const opts = {
        root: EXTENSIONS,
        target: ENGINE_TARGET,
        platforms: ["linux/amd64" as const],
        outDir,
        mirrors: MIRRORS,
      };

      // Warm the engine's cache and capture the command our build runs.
      const captured = await build({
        ...opts,
        env: {
          ...env,
          TALOS_EXT_DOCKER: wrapper,
          BENCH_CAPTURE: capture,
          BENCH_REAL_CLI: real.cli,
        },
      });
      await rm(outDir, { recursive: true, force: true });
      const usedEngine = captured.platforms[0]?.engine ?? "";
      if (!/docker|buildx|buildctl/.test(usedEngine)) {
        throw new Skip(`${ENGINE_TARGET} was not built by an engine (${usedEngine}); nothing to compare`);
      }
      const rawArgs = await readFile(join(capture, "args"), "utf8").catch(() => {
        throw new Skip("the engine command could not be captured (the build did not run the docker CLI)");
      });
      const origContext = await readFile(join(capture, "context-path"), "utf8");
      const copy = join(capture, "context");
      const tarOut = join(work, "bare.tar");
      const args = rawArgs
        .split("\0")
        .filter((a, i, all) => i < all.length - 1 || a !== "")
        .map((a) => a.replaceAll(origContext, copy))
        .map((a) => a.replace(/^type=tar,dest=.*$/, `type=tar,dest=${tarOut}`));
      const bareEnv = real.kind === "docker" ? { ...env, DOCKER_BUILDKIT: "1" } : env;
      const bareCommand = `${real.kind === "docker" ? "DOCKER_BUILDKIT=1 " : ""}${real.cli} ${args
        .map((a) => a.replaceAll(work, "$WORK"))
        .join(" ")}`;
      ctx.note(`engine: ${real.description}`);

      const t = await compare(
        [
          {
            name: "ours",
            run: () => build({ ...opts, env }),
            after: () => rm(outDir, { recursive: true, force: true }),
          },
          {
            name: "engine",
            run: () => run(real.cli, args, bareEnv),
            after: async () => {
              // A replay that exported nothing would look fast.
              if ((await stat(tarOut)).size === 0)
                throw new Error(`the bare engine build wrote an empty ${tarOut}`);
              await rm(tarOut, { force: true });
            },
          },
        ],
        { runs: ctx.runs, warmup: Math.max(1, ctx.warmup), log: ctx.log },
      );
      const ours = t.get("ours")!;
      const bare = t.get("engine")!;
      const overhead = Math.round(ours.medianMs - bare.medianMs);
      return {
        measure: ENGINE_MEASURE,
        ours,
        baseline: { name: "bare engine build", command: bareCommand, timing: bare },
        ratio: ratio(ours, bare),
        aim: `ours - engine < ${AIM_MS} ms`,
        met: overhead < AIM_MS,
        details: { overheadMs: overhead, engine: real.description },
      };
    });
  } finally {
    await engine.stop();
  }
}

export const rebuildCase: BenchCase = {
  name: "rebuild",
  title: "rebuild with nothing changed: our overhead above the engine's cached build",
  defaults: (quick) => ({ runs: quick ? 3 : 5, warmup: 1 }),
  async run(ctx: CaseContext): Promise<Row[]> {
    const image = await loadImage();
    const build = requireExport<ImageBuild>(image, "build", "@talos-ext/image");
    const detectEngine = requireExport<DetectEngine>(image, "detectEngine", "@talos-ext/image");
    const rows: Row[] = [await nativeRow(ctx, build)];
    try {
      rows.push(await engineRow(ctx, build, detectEngine));
    } catch (e) {
      if (!(e instanceof Skip)) throw e;
      rows.push({
        measure: ENGINE_MEASURE,
        skipped: e.message,
        aim: `ours - engine < ${AIM_MS} ms`,
      });
      ctx.note(`engine part skipped: ${e.message}`);
    }
    return rows;
  },
};
