/**
 * `talos-ext build`: tree -> plan -> verified sources -> engine (or native assembly) -> final
 * filesystem -> Talos validation -> deterministic OCI image layout, for each platform.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { posix, resolve } from "node:path";
import {
  type Diagnostic,
  hasErrors,
  isTalosExtError,
  type LoadedTree,
  loadTree,
  type Platform,
  type ResolvedGraph,
  resolveGraph,
  TalosExtError,
  validateExtension,
} from "@talos-ext/spec";
import { detectEngine, type Engine, type EngineKind, runEngineBuild } from "../engine/engine.ts";
import { type ImageInput, type LayerCompression, writeOciLayout } from "../oci/index.ts";
import type { ImageMirror } from "../plan/mirrors.ts";
import { type BuildPlan, packagesNeedingEngine, planBuild } from "../plan/plan.ts";
import { fetchSources, type SourceCacheOptions, type SourceProgress } from "../sources/index.ts";
import { createWorkDir, removeStaleOutputTemps, removeStaleWorkDirs, withSignalCleanup } from "./cleanup.ts";
import { writeBuildContext } from "./context.ts";
import { extractTar } from "./extract.ts";
import { assembleNatively } from "./native.ts";
import { checkOutputReplaceable, withOutputLock } from "./output.ts";

/** What `build` reports as it goes: planning, sources, engine steps, validation and the write. */
export type BuildEvent =
  | {
      /** The platform's build is planned (after the engine, if one is needed, was picked). */
      kind: "plan";
      /** The platform this step is for (`linux/amd64` or `linux/arm64`). */
      platform: Platform;
      /** The packages built, in build order (dependencies first). */
      packages: string[];
      /** Whether any package runs steps, so the build goes through an engine. */
      needsEngine: boolean;
    }
  | {
      /** Every source of the platform is downloaded (or found in the cache) and verified. */
      kind: "sources";
      /** The platform this step is for (`linux/amd64` or `linux/arm64`). */
      platform: Platform;
      /** How many sources the plan lists. */
      count: number;
    }
  | {
      /** A source download's progress: at its start, every 256 KiB, and once verified. */
      kind: "download";
      /** The platform this step is for (`linux/amd64` or `linux/arm64`). */
      platform: Platform;
      /** Which source, and how far it got. */
      progress: SourceProgress;
    }
  | {
      /** The build engine was picked (once per build, at the first platform that needs one). */
      kind: "engine";
      /** The platform this step is for (`linux/amd64` or `linux/arm64`). */
      platform: Platform;
      /** Which engine and version (e.g. `docker buildx (…)`, or buildctl and its BUILDKIT_HOST). */
      description: string;
    }
  | {
      /** A line of the engine's progress output. */
      kind: "step";
      /** The platform this step is for (`linux/amd64` or `linux/arm64`). */
      platform: Platform;
      /** The line, as the engine printed it. */
      text: string;
    }
  | {
      /** The platform's filesystem is built and has a manifest.yaml: it is validated as a Talos extension. */
      kind: "validate";
      /** The platform this step is for (`linux/amd64` or `linux/arm64`). */
      platform: Platform;
    }
  | {
      /** Every platform is built: the OCI layout is written. */
      kind: "write";
      /** The OCI layout directory being written. */
      outDir: string;
    };

/** Options of {@link build}. */
export interface BuildOptions {
  /** The tree root (the directory holding `Pkgfile`). */
  root: string;
  /** The package to build: its finalize output becomes the image. */
  target: string;
  /** Platforms to build; one image per platform, all in one layout (an index when several). */
  platforms: Platform[];
  /**
   * `--build-arg NAME=VALUE` pairs: template variables `BUILD_ARG_NAME`, and `SOURCE_DATE_EPOCH` for
   * timestamps.
   */
  buildArgs?: Record<string, string>;
  /** Build engine to use; default `auto`: the first that works of buildx, docker, buildctl. */
  engine?: EngineKind | "auto";
  /** OCI layout directory; default `<root>/../dist/<target>` is the CLI's business. */
  outDir: string;
  /** Image reference rewrites applied to every image dependency and base (air-gapped builds). */
  mirrors?: ImageMirror[];
  /** Source cache and download settings (cache dir, retries, timeouts, proxy, CA). */
  sources?: Omit<SourceCacheOptions, "mirrors">;
  /** Source URL prefix rewrites; a mirror is tried first and the original URL is the fallback. */
  sourceMirrors?: SourceCacheOptions["mirrors"];
  /** Sources from the cache only; a missing one fails instead of being downloaded. */
  offline?: boolean;
  /** Tell the engine not to use its build cache. */
  noCache?: boolean;
  /** How the output's layers are compressed; default `gzip`. */
  compression?: LayerCompression;
  /** Talos version the result is validated against. */
  talosVersion?: string;
  /** Pulls an image (already mirror-resolved) into an OCI layout; needed by the no-engine path for image deps. */
  pullImage?: (ref: string, layoutDir: string) => Promise<void>;
  /** Progress as the build goes, for a CLI to print. */
  onEvent?: (e: BuildEvent) => void;
  /**
   * Environment the engine is detected and run with (DOCKER_HOST, BUILDKIT_HOST, …); default `process.env`.
   */
  env?: NodeJS.ProcessEnv;
  /**
   * Remove the work directory and the partial layout beside the output when SIGINT or SIGTERM
   * arrives, then die of the signal (default `true`). Leftovers of killed runs (dead PID) are
   * removed at the next start either way.
   */
  handleSignals?: boolean;
}

/** What `build` wrote: the OCI layout, its top digest and one manifest per platform. */
export interface BuildResult {
  /** The OCI layout directory written. */
  outDir: string;
  /** Digest of what index.json points at (the image manifest, or the index for several platforms). */
  digest: string;
  /** Media type of that manifest or index. */
  mediaType: string;
  /** Per platform: its manifest's digest and what built it (the engine's description, or `native (no engine)`). */
  platforms: {
    /** The platform (`linux/amd64` or `linux/arm64`). */
    platform: Platform;
    /** Digest of its image manifest. */
    digest: string;
    /** The engine's description, or `native (no engine)` when no package ran a step. */
    engine: string;
  }[];
  /** Warnings from loading, planning and validating the result (errors throw instead). */
  diagnostics: Diagnostic[];
}

/** SOURCE_DATE_EPOCH from the build args (as bldr reads it), else 0, so output is always reproducible. */
export function sourceDateEpoch(buildArgs: Record<string, string> = {}): number {
  const raw = buildArgs.SOURCE_DATE_EPOCH;
  if (raw === undefined) return 0;
  if (!/^\d+$/.test(raw)) {
    throw new TalosExtError({
      code: "BUILD_BAD_SOURCE_DATE_EPOCH",
      message: `error parsing "build-arg:SOURCE_DATE_EPOCH": "${raw}" is not a base-10 integer`,
      hint: "pass seconds since the Unix epoch, e.g. --build-arg SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)",
    });
  }
  return Number(raw);
}

export interface PlannedPlatform {
  platform: Platform;
  plan: BuildPlan;
  graph: ResolvedGraph;
  diagnostics: Diagnostic[];
}

interface ResolvedPlatform {
  tree: LoadedTree;
  graph: ResolvedGraph;
  problems: Diagnostic[];
}

/** Loads and resolves one platform; tree errors stop here, before anything runs. */
async function resolvePlatform(options: BuildOptions, platform: Platform): Promise<ResolvedPlatform> {
  const tree = await loadTree({ root: options.root, platform, buildArgs: options.buildArgs ?? {} });
  const graph = resolveGraph(tree, options.target);
  const problems = [...tree.diagnostics, ...graph.diagnostics];
  if (hasErrors(problems)) {
    throw new TalosExtError({
      code: "BUILD_TREE_INVALID",
      message: `the tree at ${options.root} has errors for ${platform}; nothing was built`,
      hint: "run talos-ext lint to see every problem with its location",
      diagnostics: problems.filter((d) => d.severity === "error"),
    });
  }
  return { tree, graph, problems };
}

function planResolved(
  options: BuildOptions,
  platform: Platform,
  r: ResolvedPlatform,
  engine?: Engine,
): PlannedPlatform {
  const plan = planBuild(r.tree, r.graph, {
    platform,
    mirrors: options.mirrors ?? [],
    // The Dockerfile depends on what the engine's frontend understands.
    syntax: engine?.syntax ?? "modern",
    ...(options.buildArgs?.BUILDKIT_CACHE_MOUNT_NS
      ? { cacheMountNamespace: options.buildArgs.BUILDKIT_CACHE_MOUNT_NS }
      : {}),
  });
  return { platform, plan, graph: r.graph, diagnostics: [...r.problems, ...plan.diagnostics] };
}

/** Loads, resolves and plans one platform (what `talos-ext build --plan` prints). */
export async function planPlatform(
  options: BuildOptions,
  platform: Platform,
  engine?: Engine,
): Promise<PlannedPlatform> {
  return planResolved(options, platform, await resolvePlatform(options, platform), engine);
}

/**
 * Builds `options.target` for every platform into one OCI image layout at `options.outDir`.
 * Nothing is written outside the work directory and the output; the output is replaced only
 * when it is empty or an earlier layout, and by one build at a time.
 */
export async function build(options: BuildOptions): Promise<BuildResult> {
  const epoch = sourceDateEpoch(options.buildArgs);
  const outDir = resolve(options.outDir);
  // Leftovers of killed runs first (their PIDs are dead), then refuse an output that could not
  // be replaced before any time is spent building.
  await removeStaleWorkDirs();
  await removeStaleOutputTemps(outDir);
  await checkOutputReplaceable(outDir);
  const work = await createWorkDir();
  const run = () => buildIn(options, work, outDir, epoch);
  return options.handleSignals === false ? run() : withSignalCleanup(work, outDir, run);
}

const OUTPUT_RACE = new Set(["ENOTEMPTY", "EEXIST", "ENOENT", "ENOTDIR", "EISDIR"]);

async function buildIn(
  options: BuildOptions,
  work: string,
  outDir: string,
  epoch: number,
): Promise<BuildResult> {
  const emit = options.onEvent ?? (() => {});
  const images: ImageInput[] = [];
  const diagnostics: Diagnostic[] = [];
  const engines: string[] = [];
  let engine: Engine | undefined;
  try {
    for (const platform of options.platforms) {
      const resolved = await resolvePlatform(options, platform);
      // An engine named explicitly builds even packages the native path could assemble.
      const useEngine =
        packagesNeedingEngine(resolved.graph).length > 0 ||
        (options.engine !== undefined && options.engine !== "auto");
      if (useEngine && !engine) {
        engine = detectEngine(options.engine ?? "auto", options.env ?? process.env);
        emit({ kind: "engine", platform, description: engine.description });
      }
      const planned = planResolved(options, platform, resolved, engine);
      const { plan, graph } = planned;
      diagnostics.push(...planned.diagnostics);
      emit({ kind: "plan", platform, packages: plan.packages, needsEngine: plan.needsEngine });

      // Sources are fetched and verified on the host before any step runs.
      const fetched = await fetchSources(
        plan.sources.map(({ url, destination, sha256, sha512 }) => ({ url, destination, sha256, sha512 })),
        {
          ...(options.sources ?? {}),
          ...(options.sourceMirrors ? { mirrors: options.sourceMirrors } : {}),
          ...(options.offline ? { offline: true } : {}),
          onProgress: (progress) => {
            options.sources?.onProgress?.(progress);
            emit({ kind: "download", platform, progress });
          },
        },
      );
      emit({ kind: "sources", platform, count: plan.sources.length });
      const sourceFiles = new Map<string, string>();
      plan.sources.forEach((s, i) => {
        sourceFiles.set(s.sha256, fetched[i]!.path);
      });

      const platformDir = await mkdtemp(posix.join(work, `${platform.replace("/", "-")}-`));
      const rootfs = posix.join(platformDir, "rootfs");
      if (useEngine) {
        const eng = engine!;
        const contextDir = posix.join(platformDir, "context");
        const dockerfile = await writeBuildContext(plan, contextDir, sourceFiles);
        const outputTar = posix.join(platformDir, "out.tar");
        await runEngineBuild(
          eng,
          {
            contextDir,
            dockerfile,
            target: plan.finalStage,
            platform,
            outputTar,
            network: plan.network,
            allowHostNetwork: plan.dockerfile.includes("--network=host"),
            ...(options.noCache ? { noCache: true } : {}),
            ...(options.env ? { env: options.env } : {}),
            onEvent: (text) => emit({ kind: "step", platform, text }),
          },
          (label) => plan.runs.find((r) => r.label === label)?.command,
        );
        await extractTar(outputTar, rootfs);
        engines.push(eng.description);
      } else {
        const out = await assembleNatively({
          plan,
          graph,
          workDir: platformDir,
          sourceFiles,
          pullImage:
            options.pullImage ??
            (async (ref) => {
              throw new TalosExtError({
                code: "BUILD_PULL_UNAVAILABLE",
                message: `image "${ref}" is needed but no registry client was given`,
                hint: "use talos-ext build (which pulls with its registry client) or pass pullImage",
              });
            }),
        });
        await mkdir(posix.dirname(rootfs), { recursive: true });
        await rename(out, rootfs);
        engines.push("native (no engine)");
      }

      // Only images with a manifest are extensions; an internal stage such as `base` is not.
      if (existsSync(posix.join(rootfs, "manifest.yaml"))) {
        emit({ kind: "validate", platform });
        const report = await validateExtension(rootfs, {
          ...(options.talosVersion ? { talosVersion: options.talosVersion } : {}),
          pkgName: options.target,
        });
        diagnostics.push(...report.diagnostics);
        if (!report.ok) {
          throw new TalosExtError({
            code: "BUILD_INVALID_EXTENSION",
            message: `the built image of "${options.target}" for ${platform} is not a valid Talos extension; nothing was written`,
            hint: "fix the problems listed (talos-ext validate shows them for any image)",
            diagnostics: report.diagnostics.filter((d) => d.severity === "error"),
          });
        }
      }
      images.push({ platform, layers: [rootfs], labels: plan.labels });
    }

    emit({ kind: "write", outDir: options.outDir });
    await mkdir(posix.dirname(outDir), { recursive: true });
    const written = await withOutputLock(outDir, async () => {
      await checkOutputReplaceable(outDir);
      try {
        return await writeOciLayout(outDir, images, {
          sourceDateEpoch: epoch,
          compression: options.compression ?? "gzip",
          refName: "latest",
        });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (isTalosExtError(e) || code === undefined || !OUTPUT_RACE.has(code)) throw e;
        throw new TalosExtError({
          code: "BUILD_OUTPUT_BUSY",
          message: `${outDir} changed while this build wrote it (${code}); this build's layout was not put in place`,
          hint: "something else writes that directory; give this build another --output",
          cause: e,
        });
      }
    });
    return {
      outDir,
      digest: written.digest,
      mediaType: written.mediaType,
      platforms: written.manifests.map((m, i) => ({
        platform: m.platform as Platform,
        digest: m.digest,
        engine: engines[i] ?? "",
      })),
      diagnostics,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
