import { arch } from "node:os";
import { resolve } from "node:path";
import type { ConfigFile } from "@talos-ext/config";
import {
  type BuildEvent,
  build,
  detectEngine,
  type Engine,
  parseMirror,
  planPlatform,
  pullLayout,
  pushLayout,
} from "@talos-ext/image";
import type { Platform } from "@talos-ext/spec";
import {
  type Command,
  type CommandContext,
  keyValueOption,
  listOption,
  stringOption,
  usageError,
} from "../command.ts";
import { throttledDownloadLines } from "../download-lines.ts";
import { printDiagnostics, printJson } from "../report.ts";
import { REGISTRY_OPTIONS, registryOptions } from "./registry-options.ts";
import {
  BUILD_ARG_OPTION,
  CONFIG_OPTION,
  platformsOption,
  ROOT_OPTION,
  rootDir,
  workspaceConfig,
} from "./shared.ts";

const HOST_PLATFORM: Platform = arch() === "arm64" ? "linux/arm64" : "linux/amd64";

/** The build options of a command: flags over the workspace file's keys over defaults. */
export async function buildOptions(ctx: CommandContext, target: string, config: ConfigFile | undefined) {
  const root = rootDir(ctx, config);
  const platforms = platformsOption(ctx, (config?.platforms as Platform[] | undefined) ?? [HOST_PLATFORM]);
  const engine = stringOption(ctx.values.engine) ?? "auto";
  if (!["auto", "buildx", "docker", "buildctl"].includes(engine)) {
    throw usageError(`unknown --engine "${engine}"`, "use auto, buildx, docker or buildctl");
  }
  const compression = stringOption(ctx.values.compression) ?? "gzip";
  if (compression !== "gzip" && compression !== "zstd")
    throw usageError(`unknown --compression "${compression}"`);
  const cacheFlag = stringOption(ctx.values["cache-dir"]);
  const cacheDir = cacheFlag ? resolve(ctx.io.cwd, cacheFlag) : config?.cache?.sources;
  const talosVersion = stringOption(ctx.values["talos-version"]) ?? config?.talos.version;
  const mirrorsOf = (flag: string, fromConfig: string[] | undefined) => {
    const given = listOption(ctx.values[flag]);
    return (given.length ? given : (fromConfig ?? [])).map(parseMirror);
  };
  return {
    root,
    target,
    platforms,
    buildArgs: keyValueOption(ctx.values["build-arg"], "build-arg"),
    engine: engine as "auto",
    outDir: resolve(ctx.io.cwd, stringOption(ctx.values.output) ?? `dist/${target}`),
    mirrors: mirrorsOf("mirror", config?.mirrors?.images),
    sourceMirrors: mirrorsOf("source-mirror", config?.mirrors?.sources),
    offline: ctx.values.offline === true,
    noCache: ctx.values["no-cache"] === true,
    compression: compression as "gzip" | "zstd",
    ...(cacheDir ? { sources: { cacheDir } } : {}),
    ...(talosVersion ? { talosVersion } : {}),
    env: ctx.io.env as NodeJS.ProcessEnv,
  };
}

/** Build progress on stderr: a timed line per event; source downloads throttled to one line per 2 s. */
export function buildProgress(ctx: CommandContext): (e: BuildEvent) => void {
  const started = Date.now();
  // Source downloads: a line when one starts, every 2 s while it runs, and once verified.
  const slow = throttledDownloadLines(2000);
  const downloadLine = (e: Extract<BuildEvent, { kind: "download" }>) => {
    const p = e.progress;
    if (p.done) return `${e.platform}: verified ${p.url} (${p.bytes} bytes)`;
    if (p.bytes === 0)
      return `${e.platform}: downloading ${p.url}${p.attempt > 0 ? ` (retry ${p.attempt})` : ""}`;
    const line = slow(p);
    return line && `${e.platform}: ${line}`;
  };
  return (e: BuildEvent) => {
    if (ctx.json) return;
    const t = `${((Date.now() - started) / 1000).toFixed(1)}s`;
    if (e.kind === "download") {
      const line = downloadLine(e);
      if (line) ctx.io.stderr(`[${t}] ${line}\n`);
      return;
    }
    const line =
      e.kind === "plan"
        ? `${e.platform}: plan ${e.packages.join(" -> ")}${e.needsEngine ? "" : " (no engine needed)"}`
        : e.kind === "sources"
          ? `${e.platform}: ${e.count} source(s) verified`
          : e.kind === "engine"
            ? `${e.platform}: engine ${e.description}`
            : e.kind === "step"
              ? `${e.platform}: ${e.text}`
              : e.kind === "validate"
                ? `${e.platform}: validating as a Talos extension`
                : `writing ${e.outDir}`;
    ctx.io.stderr(`[${t}] ${line}\n`);
  };
}

export const buildCommand: Command = {
  name: "build",
  summary: "build a package of a bldr tree into a validated, reproducible OCI image",
  description: [
    "Renders and resolves the tree, fetches and verifies every source on the host, builds with",
    "BuildKit (docker buildx, docker with built-in BuildKit, or buildctl) or, for packages that run",
    "nothing, without any engine; then writes a deterministic OCI image layout (one index for",
    "several platforms), validated as a Talos extension, and optionally pushes it.",
  ].join("\n"),
  positionals: [
    { name: "target", required: true, description: "package name to build (its pkg.yaml name:)" },
  ],
  options: {
    ...ROOT_OPTION,
    platform: {
      type: "string",
      value: "LIST",
      description: `platforms, comma-separated; default: ${HOST_PLATFORM}`,
    },
    engine: { type: "string", value: "KIND", description: "auto (default), buildx, docker or buildctl" },
    output: {
      type: "string",
      value: "DIR",
      description: "OCI image layout to write; default: dist/<target>",
    },
    push: { type: "string", value: "REF", description: "push the result to this reference after the build" },
    plan: { type: "boolean", description: "print the build plan (Dockerfile, sources, images) and stop" },
    offline: { type: "boolean", description: "use only the source cache; never download" },
    "no-cache": { type: "boolean", description: "ignore the engine's build cache" },
    mirror: {
      type: "string",
      multiple: true,
      value: "FROM=TO",
      description: "image prefix mirror, e.g. ghcr.io/siderolabs=registry.internal/mirror",
    },
    "source-mirror": {
      type: "string",
      multiple: true,
      value: "FROM=TO",
      description: "source URL prefix mirror",
    },
    "cache-dir": {
      type: "string",
      value: "DIR",
      description: "source cache; default: ~/.cache/talos-ext/sources",
    },
    compression: { type: "string", value: "gzip|zstd", description: "layer compression; default: gzip" },
    "talos-version": {
      type: "string",
      value: "V",
      description: "Talos version the result is validated against",
    },
    ...BUILD_ARG_OPTION,
    ...REGISTRY_OPTIONS,
    ...CONFIG_OPTION,
  },
  examples: [
    "talos-ext build multipath-tools --root extensions",
    "talos-ext build hello-service --root extensions --mirror ghcr.io/talos-ext=talos-ext.local --plan",
    "talos-ext build udev-rules --root extensions --platform linux/amd64,linux/arm64 --push registry.example/ext/udev-rules:v1",
    "talos-ext build multipath-tools --root extensions --offline --cache-dir /srv/sources --json",
  ],
  async run(ctx) {
    const target = ctx.positionals[0]!;
    const options = await buildOptions(ctx, target, await workspaceConfig(ctx));
    const engine = options.engine;

    if (ctx.values.plan) {
      // Show the Dockerfile the detected engine would get (its frontend decides the syntax).
      let engineFound: Engine | undefined;
      try {
        engineFound = detectEngine(engine as "auto", options.env);
      } catch {
        engineFound = undefined;
      }
      const plans = [];
      for (const platform of options.platforms)
        plans.push(await planPlatform(options, platform, engineFound));
      if (ctx.json) {
        printJson(ctx.io, {
          target,
          platforms: plans.map(({ plan, diagnostics }) => ({
            ...plan,
            contextDirs: plan.contextDirs.map((c) => c.contextPath),
            diagnostics,
          })),
        });
      } else {
        for (const { plan, diagnostics } of plans) {
          ctx.io.stdout(
            `# ==== ${plan.platform}: ${plan.packages.join(" -> ")} (${plan.needsEngine ? "engine" : "no engine"})\n`,
          );
          ctx.io.stdout(plan.dockerfile);
          printDiagnostics(
            ctx.io,
            diagnostics.filter((d) => d.severity !== "info"),
          );
        }
      }
      return 0;
    }

    const reg = registryOptions(ctx);
    const progress = buildProgress(ctx);
    const result = await build({
      ...options,
      onEvent: progress,
      pullImage: (ref, dir) => pullLayout(ref, dir, reg).then(() => {}),
    });
    let pushed: { ref: string; digest: string } | undefined;
    const pushRef = stringOption(ctx.values.push);
    if (pushRef) {
      const r = await pushLayout(result.outDir, pushRef, reg);
      pushed = { ref: pushRef, digest: r.digest };
      if (!ctx.json) ctx.io.stderr(`pushed ${pushRef}@${r.digest}\n`);
    }
    if (ctx.json) printJson(ctx.io, { ok: true, ...result, ...(pushed ? { pushed } : {}) });
    else {
      printDiagnostics(
        ctx.io,
        result.diagnostics.filter((d) => d.severity !== "info"),
      );
      ctx.io.stdout(`${result.outDir} ${result.digest}\n`);
    }
    return 0;
  },
};
