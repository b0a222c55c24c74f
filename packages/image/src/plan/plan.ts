/**
 * A resolved package graph -> one Dockerfile (plus what its build context must hold), with
 * bldr's semantics (bldr-format.md §6): base by variant, dependency merge order and
 * de-duplication, `apk add`, `/pkg` with rendered templates, one RUN per script item,
 * per-step network and cache mounts, detached tests, finalize into an empty stage.
 */
import { posix } from "node:path";
import {
  builtinVariables,
  copyPathProblems,
  type Diagnostic,
  diagnostic,
  type LoadedPackage,
  type LoadedTree,
  mergeList,
  type Platform,
  type ResolvedGraph,
  type Source,
  type SourceLocation,
  splitImageRef,
  TalosExtError,
} from "@talos-ext/spec";
import { copyInstruction, execForm, quoteEnv, stageName } from "./dockerfile.ts";
import { applyMirrors, type ImageMirror } from "./mirrors.ts";

/** bldr's alpine base (constants.DefaultBaseImage). */
export const ALPINE_BASE =
  "docker.io/alpine:3.21@sha256:a8560b36e8b8210634f77d9f7f9efd7ffa463e380b75e2e74aff4511df3ef88c";
const PHASES = ["prepare", "build", "install"] as const;

/** Options of {@link planBuild}. */
export interface PlanOptions {
  /** The platform to plan for (also the build platform). */
  platform: Platform;
  /** Image reference rewrites applied to every image the plan pulls. */
  mirrors?: readonly ImageMirror[];
  /**
   * `modern`: the frontend has `RUN --network` (buildx / dockerfile:1.x), so each step gets its
   * own network. `legacy`: the engine's built-in frontend (docker 20.10) lacks it; the plan then
   * asks for one build-wide network and says so in a diagnostic.
   */
  syntax?: "modern" | "legacy";
  /** `BUILDKIT_CACHE_MOUNT_NS` build arg: prefix of cache mount IDs. */
  cacheMountNamespace?: string;
}

/** A source of a build plan: the pkg.yaml entry, with the package and step that fetch it. */
export interface PlannedSource extends Source {
  /** The package whose step downloads it. */
  package: string;
  /** Index of that step in the package's `steps`. */
  step: number;
  /** Where the verified file goes in the build context. */
  contextPath: string;
}

/** A package directory copied into the build context. */
export interface PlannedContextDir {
  /** The package the directory belongs to. */
  package: string;
  /** Directory in the build context, copied to /pkg. */
  contextPath: string;
  /** The package directory on disk (absolute). */
  sourceDir: string;
  /** Rendered *.tmpl outputs, written over the copy (path relative to the package dir). */
  templated: {
    /** The rendered file's path relative to the package directory: the `.tmpl` name without `.tmpl`. */
    path: string;
    /** The rendered text. */
    content: string;
  }[];
}

/** One script RUN of a build plan. */
export interface PlannedRun {
  /** `<package>:<phase>-<step>` as bldr names its vertices, plus `#<item>` to tell script items apart. */
  label: string;
  /** The package the RUN belongs to. */
  package: string;
  /** The bldr phase (or `apk-install` and `base` for the RUNs bldr adds itself). */
  phase: "prepare" | "build" | "install" | "test" | "apk-install" | "base";
  /** Index of the step in the package's `steps` (0 for the RUNs outside steps). */
  step: number;
  /** The command the RUN executes, for messages (a script item, or the apk command bldr adds). */
  command: string;
}

/** What one platform's build of a target is: the Dockerfile, its context and what the engine must fetch. */
export interface BuildPlan {
  /** The package the image is built from. */
  target: string;
  /** The platform this plan builds for. */
  platform: Platform;
  /** The generated Dockerfile, one stage per package. */
  dockerfile: string;
  /** Stage whose filesystem is the image. */
  finalStage: string;
  /** Packages in build order (dependencies first). */
  packages: string[];
  /** Package directories copied into the build context (each becomes `/pkg` of its stage). */
  contextDirs: PlannedContextDir[];
  /** Sources to download and verify before the build, and where each goes in the context. */
  sources: PlannedSource[];
  /** Every image the build pulls: as written, after mirrors, and the platform asked for. */
  images: {
    /** The reference as the pkg.yaml writes it. */
    ref: string;
    /** The reference pulled, after image mirrors are applied. */
    resolved: string;
    /** The platform it is pulled for, when the dependency names one. */
    platform?: string;
  }[];
  /** Build-wide network the engine must grant (legacy syntax), or "none". */
  network: "none" | "default";
  /** False when no package runs anything: the image can be assembled without an engine. */
  needsEngine: boolean;
  /** Every script RUN the Dockerfile holds, in order, for step labels and error messages. */
  runs: PlannedRun[];
  /** Labels for the image config (the Pkgfile's `labels`). */
  labels: Record<string, string>;
  /** Findings of planning (e.g. the build-wide network legacy engines need). */
  diagnostics: Diagnostic[];
}

/** Marker in each script so a failing RUN in the engine's log maps back to its step. */
export const STEP_MARKER = "# talos-ext step: ";

/** Stops at the first copy path the build refuses (the same rule `lint` reports). */
function checkCopyPaths(p: LoadedPackage): void {
  const [bad] = copyPathProblems(p);
  if (!bad) return;
  throw new TalosExtError({
    code: "BUILD_PATH_TRAVERSAL",
    message: `package "${p.name}": ${bad.message}`,
    hint: bad.hint,
    location: p.doc.locate(bad.path),
  });
}

/**
 * Plans one platform's build of `graph.target`: the Dockerfile, context, sources and images. Throws
 * `BUILD_PATH_TRAVERSAL` for a copy path that leaves its root and `BUILD_CROSS_PLATFORM_DEPENDENCY` for a
 * stage asked on another platform.
 */
export function planBuild(tree: LoadedTree, graph: ResolvedGraph, options: PlanOptions): BuildPlan {
  const syntax = options.syntax ?? "modern";
  const mirrors = options.mirrors ?? [];
  const lines: string[] = [];
  const runs: PlannedRun[] = [];
  const sources: PlannedSource[] = [];
  const contextDirs: PlannedContextDir[] = [];
  const images = new Map<string, { ref: string; resolved: string; platform?: string; stage: string }>();
  const diagnostics: Diagnostic[] = [];
  let needsNetwork = false;
  let alpineDeclared = false;

  const imageStage = (ref: string, platform?: string, where?: SourceLocation): string => {
    const key = `${platform ?? ""}|${ref}`;
    const known = images.get(key);
    if (known) return known.stage;
    const pinning = splitImageRef(ref);
    if (!pinning.digest) {
      diagnostics.push(
        diagnostic("BUILD_IMAGE_NOT_PINNED", "warning", `image "${ref}" is not pinned by digest`, {
          hint: "add @sha256:<digest> so every build uses the same bytes",
          ...(where ? { location: where } : {}),
        }),
      );
    }
    const resolved = applyMirrors(ref, mirrors);
    const stage = stageName("img", String(images.size));
    images.set(key, { ref, resolved, stage, ...(platform ? { platform } : {}) });
    lines.push(`FROM ${platform ? `--platform=${platform} ` : ""}${resolved} AS ${stage}`);
    return stage;
  };

  const runFlags = (network: "none" | "default" | "host", cachePaths: string[]): string[] => {
    const flags: string[] = [];
    if (syntax === "modern") flags.push(`--network=${network}`);
    else if (network !== "none") needsNetwork = true;
    for (const p of cachePaths) {
      const id = posix.normalize(`${options.cacheMountNamespace ?? ""}/${p}`).replace(/^\/+/, "");
      flags.push(`--mount=type=cache,target=${p},id=${id},sharing=shared`);
    }
    return flags;
  };

  for (const name of graph.order) {
    const node = graph.nodes.get(name);
    if (!node) continue;
    const p = node.pkg;
    const pkg = p.pkg;
    const isTarget = name === graph.target;
    // bldr honours buildPlatform only on the package at the top of a solve.
    const env = builtinVariables(
      options.platform,
      isTarget ? (pkg.buildPlatform ?? options.platform) : options.platform,
    );
    const s = (suffix: string) => stageName("pkg", name, suffix);
    checkCopyPaths(p);

    lines.push("", `# ---- ${name} (${p.file}) ----`);
    if (pkg.variant === "alpine") {
      if (!alpineDeclared) {
        alpineDeclared = true;
        const base = imageStage(ALPINE_BASE);
        lines.push(`FROM ${base} AS bldr-alpine`);
        lines.push(
          `RUN ${[...runFlags("default", []), execForm(["/sbin/apk", "--no-cache", "--update", "add", "bash"])].join(" ")}`,
        );
        lines.push(`RUN ${execForm(["/bin/ln", "-svf", "/bin/bash", "/bin/sh"])}`);
        runs.push({
          label: "base-apkinstall",
          package: name,
          phase: "base",
          step: 0,
          command: "apk --no-cache --update add bash",
        });
      }
    }
    // Image dependencies become stages before the package's own stage starts.
    const deps = mergeList(graph, name).map((entry) => {
      const d = entry.dep;
      if (d.stage !== undefined) {
        if (d.platform && d.platform !== options.platform) {
          throw new TalosExtError({
            code: "BUILD_CROSS_PLATFORM_DEPENDENCY",
            message: `package "${name}" depends on "${d.stage}" for ${d.platform}, which needs a separate solve`,
            hint: "build that dependency for its platform first and depend on its image instead",
            location: p.doc.locate(["dependencies"]),
          });
        }
        return { dep: d, stage: stageName("pkg", d.stage, "final") };
      }
      return {
        dep: d,
        stage: imageStage(
          d.image!,
          d.platform,
          p.doc.locate(["dependencies", pkg.dependencies.indexOf(d), "image"]),
        ),
      };
    });

    let current = s("build");
    lines.push(`FROM ${pkg.variant === "alpine" ? "bldr-alpine" : "scratch"} AS ${current}`);
    lines.push("WORKDIR /pkg");
    lines.push(
      `ENV ${Object.keys(env)
        .sort()
        .map((k) => `${k}=${quoteEnv(env[k]!)}`)
        .join(" ")}`,
    );
    for (const { dep, stage } of deps) {
      const from = posix.resolve("/", dep.from ?? "/");
      const to = posix.resolve("/", dep.to ?? "/");
      lines.push(copyInstruction([`--from=${stage}`], from === "/" ? "/" : from, to === "/" ? "/" : to));
    }
    if (pkg.install.length > 0) {
      lines.push(
        `RUN ${[...runFlags("default", []), execForm(["/sbin/apk", "add", "--no-cache", ...pkg.install])].join(" ")}`,
      );
      runs.push({
        label: `${name}:apk-install`,
        package: name,
        phase: "apk-install",
        step: 0,
        command: `apk add --no-cache ${pkg.install.join(" ")}`,
      });
    }
    const ctxDir = `pkg/${stageName(name)}`;
    contextDirs.push({
      package: name,
      contextPath: ctxDir,
      sourceDir: posix.join(tree.root, p.dir),
      templated: p.templatedFiles.map((t) => ({ path: t.path, content: t.content })),
    });
    lines.push(copyInstruction([], `${ctxDir}/`, "/pkg/"));

    if (pkg.steps.length > 0) lines.push("WORKDIR /tmp/build");
    pkg.steps.forEach((step, i) => {
      for (const src of step.sources) {
        const contextPath = `src/${src.sha256}`;
        sources.push({ ...src, package: name, step: i, contextPath });
        lines.push(copyInstruction([], contextPath, posix.join("/tmp/build", src.destination)));
      }
      const stepEnv = Object.keys(step.env).sort();
      if (stepEnv.length) lines.push(`ENV ${stepEnv.map((k) => `${k}=${quoteEnv(step.env[k]!)}`).join(" ")}`);
      const hasScripts = PHASES.some((ph) => step[ph].length > 0) || step.test.length > 0;
      // PKG_NAME is per RUN in bldr and wins over a step env of the same name.
      if (hasScripts) lines.push(`ENV PKG_NAME=${quoteEnv(name)}`);
      const script = (phase: string, item: string, index: number) => {
        const label = `${name}:${phase}-${i}#${index}`;
        runs.push({ label, package: name, phase: phase as PlannedRun["phase"], step: i, command: item });
        const argv = [pkg.shell, "-c", `set -eou pipefail\n${STEP_MARKER}${label}\n${item}`];
        return `RUN ${[...runFlags(step.network, step.cachePaths), execForm(argv)].join(" ")}`;
      };
      for (const phase of PHASES) {
        step[phase].forEach((item, k) => {
          lines.push(script(phase, item, k));
        });
      }
      if (step.test.length > 0) {
        // Tests run on a side branch whose writes are discarded; an empty-directory copy makes
        // the main chain wait for them, or BuildKit would skip the branch.
        const test = s(`test-${i}`);
        lines.push(`FROM ${current} AS ${test}`);
        step.test.forEach((item, k) => {
          lines.push(script("test", item, k));
        });
        lines.push("WORKDIR /.bldr/empty");
        const next = s(`step-${i}`);
        lines.push(`FROM ${current} AS ${next}`);
        lines.push(copyInstruction([`--from=${test}`], "/.bldr/empty/", "/"));
        current = next;
      }
      if (step.sbom?.outputPath) {
        diagnostics.push(
          diagnostic(
            "BUILD_SBOM_SKIPPED",
            "warning",
            `package "${name}" step ${i}: sbom.outputPath is not generated yet`,
            {
              hint: "SBOM parity with bldr is best-effort and not implemented; the file will be missing",
              location: p.doc.locate(["steps", i, "sbom"]),
            },
          ),
        );
      }
    });

    const workdir = pkg.steps.length > 0 ? "/tmp/build" : "/pkg";
    const final = stageName("pkg", name, "final");
    lines.push(`FROM scratch AS ${final}`);
    for (const f of pkg.finalize) {
      const from = posix.resolve(workdir, f.from ?? "");
      const to = posix.resolve("/", f.to ?? "/");
      lines.push(copyInstruction([`--from=${current}`, "--chown=0:0"], from, to));
    }
  }

  if (syntax === "legacy" && needsNetwork) {
    diagnostics.push(
      diagnostic(
        "BUILD_NETWORK_BUILD_WIDE",
        "warning",
        "this engine's Dockerfile frontend has no per-step network; the whole build runs with the default network",
        { hint: "use docker buildx (or buildctl) to keep steps without `network: default` offline" },
      ),
    );
  }

  const header = [`# Generated by talos-ext for ${graph.target} on ${options.platform}. Do not edit.`].filter(
    Boolean,
  );
  return {
    target: graph.target,
    platform: options.platform,
    dockerfile: `${[...header, ...lines].join("\n")}\n`,
    finalStage: stageName("pkg", graph.target, "final"),
    packages: [...graph.order],
    contextDirs,
    sources,
    images: [...images.values()].map(({ stage: _stage, ...rest }) => rest),
    network: needsNetwork ? "default" : "none",
    // One definition of "runs something" for the plan and for build()'s engine choice.
    needsEngine: packagesNeedingEngine(graph).length > 0,
    runs,
    labels: { ...(tree.pkgfile?.labels ?? {}) },
    diagnostics,
  };
}

/** Package names (build order) whose build needs a RUN: what the no-engine path cannot do. */
export function packagesNeedingEngine(graph: ResolvedGraph): string[] {
  return graph.order.filter((n) => {
    const pkg = graph.nodes.get(n)?.pkg.pkg;
    if (!pkg) return false;
    return (
      pkg.variant === "alpine" ||
      pkg.install.length > 0 ||
      pkg.steps.some((s) => PHASES.some((ph) => s[ph].length > 0) || s.test.length > 0)
    );
  });
}

export type { LoadedPackage };
