/**
 * Build engines: docker buildx, docker with its built-in BuildKit (DOCKER_BUILDKIT=1, CLIs older
 * than 23 such as Debian's 20.10), and buildctl against a BuildKit daemon (BUILDKIT_HOST).
 * Every engine gets the same Dockerfile and context and exports the final stage as a tar.
 */
import { isTalosExtError, TalosExtError } from "@talos-ext/spec";
import { execa, execaSync } from "execa";
import { ProgressLog } from "./progress.ts";

/** A build engine: docker buildx, docker's built-in BuildKit, or buildctl against a BuildKit daemon. */
export type EngineKind = "buildx" | "docker" | "buildctl";

/** A detected build engine and how to drive it. */
export interface Engine {
  /** Which engine it is. */
  kind: EngineKind;
  /** Program run for builds. */
  cli: string;
  /** What was detected, for messages (`docker 20.10.24 (built-in BuildKit)`). */
  description: string;
  /** `modern` frontends know `RUN --network`; the built-in one of engine 20.10 does not. */
  syntax: "modern" | "legacy";
}

/** One engine build: a Dockerfile and context in, the target stage's filesystem as a tar out. */
export interface EngineBuildRequest {
  /** Directory sent as the build context. */
  contextDir: string;
  /** The Dockerfile text. */
  dockerfile: string;
  /** Dockerfile stage to build and export. */
  target: string;
  /** Platform to build for, e.g. `linux/amd64`. */
  platform: string;
  /** Where the exported tar of the target stage is written. */
  outputTar: string;
  /** Build-wide network (legacy syntax only). */
  network: "none" | "default";
  /** Grant `network.host` to the build (a step with `network: host`). */
  allowHostNetwork?: boolean;
  /** Build without the engine's cache. */
  noCache?: boolean;
  /** Environment for the engine CLI (DOCKER_HOST, BUILDKIT_HOST, …). */
  env?: NodeJS.ProcessEnv;
  /** Each line of the engine's progress output. */
  onEvent?: (text: string) => void;
  /** Stops the build (SIGTERM, then SIGKILL after 10 s); the signal's reason is thrown. */
  signal?: AbortSignal;
  /** Stops a build that runs longer than this (BUILD_ENGINE_FAILED). Default: no limit. */
  timeoutMs?: number;
}

interface Probe {
  ok: boolean;
  out: string;
}

/** Detection runs small version commands; one that hangs (a dead daemon socket) is stopped. */
const PROBE_TIMEOUT_MS = 15_000;

function probe(cmd: string, args: string[], env: NodeJS.ProcessEnv): Probe {
  const r = execaSync(cmd, args, {
    env,
    extendEnv: false,
    reject: false,
    timeout: PROBE_TIMEOUT_MS,
    stdin: "ignore",
    stderr: "ignore",
    maxBuffer: 1024 * 1024,
  });
  return { ok: r.exitCode === 0, out: typeof r.stdout === "string" ? r.stdout.trim() : "" };
}

function major(version: string): number {
  return Number.parseInt(version.replace(/^v/, ""), 10) || 0;
}

/** Docker CLIs to try: the one on PATH first, then Debian's (which has built-in BuildKit). */
function dockerClis(env: NodeJS.ProcessEnv): string[] {
  const list = [env.TALOS_EXT_DOCKER ?? "docker", "/usr/bin/docker"];
  return [...new Set(list)];
}

function detectBuildx(env: NodeJS.ProcessEnv): Engine | undefined {
  for (const cli of dockerClis(env)) {
    const v = probe(cli, ["buildx", "version"], env);
    if (v.ok)
      return {
        kind: "buildx",
        cli,
        description: `${cli} buildx (${v.out.split("\n")[0]})`,
        syntax: "modern",
      };
  }
  return undefined;
}

function detectDocker(env: NodeJS.ProcessEnv): Engine | undefined {
  for (const cli of dockerClis(env)) {
    const v = probe(cli, ["version", "--format", "{{.Client.Version}} {{.Server.Version}}"], env);
    if (!v.ok) continue;
    const [client = "", server = ""] = v.out.split(" ");
    // CLIs from 23 on hand BuildKit builds to buildx only; older ones drive the engine's BuildKit.
    if (major(client) >= 23 || !server) continue;
    return {
      kind: "docker",
      cli,
      description: `${cli} ${client} with engine ${server} (built-in BuildKit)`,
      syntax: major(server) >= 23 ? "modern" : "legacy",
    };
  }
  return undefined;
}

function detectBuildctl(env: NodeJS.ProcessEnv): Engine | undefined {
  const cli = env.TALOS_EXT_BUILDCTL ?? "buildctl";
  const v = probe(cli, ["--version"], env);
  if (!v.ok) return undefined;
  const workers = probe(cli, ["debug", "workers"], env);
  if (!workers.ok) return undefined;
  return {
    kind: "buildctl",
    cli,
    description: `${v.out.split("\n")[0]} at ${env.BUILDKIT_HOST ?? "default address"}`,
    syntax: "modern",
  };
}

const DETECTORS: Record<EngineKind, (env: NodeJS.ProcessEnv) => Engine | undefined> = {
  buildx: detectBuildx,
  docker: detectDocker,
  buildctl: detectBuildctl,
};

/** Finds an engine: the one asked for, or the first that works in the order buildx, docker, buildctl. */
export function detectEngine(
  kind: EngineKind | "auto" = "auto",
  env: NodeJS.ProcessEnv = process.env,
): Engine {
  const order: EngineKind[] = kind === "auto" ? ["buildx", "docker", "buildctl"] : [kind];
  for (const k of order) {
    const engine = DETECTORS[k](env);
    if (engine) return engine;
  }
  const looked = order
    .map((k) =>
      k === "buildx"
        ? "`docker buildx` (docker, /usr/bin/docker)"
        : k === "docker"
          ? "a docker CLI older than 23 with a running engine (DOCKER_BUILDKIT=1)"
          : "`buildctl` reaching a BuildKit daemon (BUILDKIT_HOST)",
    )
    .join("; ");
  throw new TalosExtError({
    code: "BUILD_NO_ENGINE",
    message: `no build engine found; looked for: ${looked}`,
    hint: "install docker (Debian: apt-get install docker.io, then start dockerd) or point BUILDKIT_HOST at a buildkitd; packages without RUN steps build without any engine",
  });
}

function buildArgs(engine: Engine, req: EngineBuildRequest): { args: string[]; env: NodeJS.ProcessEnv } {
  const env: NodeJS.ProcessEnv = { ...(req.env ?? process.env) };
  if (engine.kind === "buildctl") {
    const args = [
      "build",
      "--frontend",
      "dockerfile.v0",
      "--local",
      `context=${req.contextDir}`,
      "--local",
      `dockerfile=${req.contextDir}`,
      "--opt",
      `filename=${relativeDockerfile(req)}`,
      "--opt",
      `target=${req.target}`,
      "--opt",
      `platform=${req.platform}`,
      "--output",
      `type=tar,dest=${req.outputTar}`,
      "--progress",
      "plain",
    ];
    if (req.noCache) args.push("--no-cache");
    if (req.allowHostNetwork) args.push("--allow", "network.host");
    return { args, env };
  }
  const args = engine.kind === "buildx" ? ["buildx", "build"] : ["build"];
  args.push(
    "--file",
    req.dockerfile,
    "--target",
    req.target,
    "--platform",
    req.platform,
    "--output",
    `type=tar,dest=${req.outputTar}`,
    "--progress",
    "plain",
  );
  if (engine.syntax === "legacy") args.push(`--network=${req.network}`);
  if (req.noCache) args.push("--no-cache");
  if (req.allowHostNetwork && engine.kind === "buildx") args.push("--allow", "network.host");
  args.push(req.contextDir);
  if (engine.kind === "docker") env.DOCKER_BUILDKIT = "1";
  return { args, env };
}

function relativeDockerfile(req: EngineBuildRequest): string {
  return req.dockerfile.startsWith(`${req.contextDir}/`)
    ? req.dockerfile.slice(req.contextDir.length + 1)
    : req.dockerfile;
}

/** Runs one build; on failure throws BUILD_STEP_FAILED naming our step, or BUILD_ENGINE_FAILED. */
export async function runEngineBuild(
  engine: Engine,
  req: EngineBuildRequest,
  describeRun: (label: string) => string | undefined,
): Promise<void> {
  const { args, env } = buildArgs(engine, req);
  const log = new ProgressLog();
  const child = execa(engine.cli, args, {
    env,
    extendEnv: false,
    stdin: "ignore",
    all: true,
    buffer: false,
    reject: false,
    forceKillAfterDelay: 10_000,
    ...(req.signal ? { cancelSignal: req.signal } : {}),
    ...(req.timeoutMs !== undefined ? { timeout: req.timeoutMs } : {}),
  });
  let buffer = "";
  const onData = (chunk: Buffer | string) => {
    buffer += chunk.toString();
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      const event = log.push(buffer.slice(0, nl).replace(/\r$/, ""));
      if (event) req.onEvent?.(event);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf("\n");
    }
  };
  child.all?.on("data", onData);
  const result = await child;
  if (result.isCanceled && req.signal) {
    const reason: unknown = req.signal.reason;
    throw isTalosExtError(reason) || reason instanceof Error ? reason : new Error("build canceled");
  }
  const spawnCode = (result as { code?: unknown }).code;
  if (result.exitCode === undefined && !result.isTerminated && !result.timedOut) {
    throw new TalosExtError({
      code: "BUILD_ENGINE_FAILED",
      message: `${engine.description} could not be started (${typeof spawnCode === "string" ? spawnCode : "error"})`,
      hint: `check that ${engine.cli} is installed and runnable`,
    });
  }
  if (result.timedOut) {
    throw new TalosExtError({
      code: "BUILD_ENGINE_FAILED",
      message: `${engine.description} did not finish within ${req.timeoutMs} ms and was stopped`,
      hint: "raise the build timeout, or look at the step that hangs (`talos-ext build --plan` prints the Dockerfile)",
    });
  }
  const code = result.exitCode ?? 1;
  if (buffer) log.push(buffer);
  if (code === 0) return;
  const failed = log.failed();
  if (failed?.label) {
    const command = describeRun(failed.label) ?? "";
    const [step, item] = failed.label.split("#");
    throw new TalosExtError({
      code: "BUILD_STEP_FAILED",
      message: [
        `${step} failed${item ? ` (script ${Number(item) + 1})` : ""}: exit code ${log.exitCode ?? code}`,
        `command: ${command.trimEnd()}`,
        "last output:",
        ...failed.output.slice(-15).map((l) => `  | ${l}`),
      ].join("\n"),
      hint: `fix the ${step!.split(":")[1]} script of package "${step!.split(":")[0]}" (talos-ext build --plan prints the generated Dockerfile)`,
    });
  }
  throw new TalosExtError({
    code: "BUILD_ENGINE_FAILED",
    message: [
      `${engine.description} failed (exit ${code})${failed ? ` at "${failed.name}": ${failed.error}` : ""}`,
      ...(failed?.output ?? log.other).slice(-15).map((l) => `  | ${l}`),
    ].join("\n"),
    hint: "see the engine output above; `talos-ext build --plan` prints the Dockerfile that was built",
  });
}
