/**
 * Lints for extension service specs beyond Talos's `Spec.Validate`: each one is a way a service
 * that validates fine still fails (or hangs) on a node. Inputs the caller cannot know yet (e.g.
 * before a build) are `undefined`, and the rules that need them are skipped.
 */
import { type Diagnostic, diagnostic, didYouMean, type SourceLocation } from "../errors.ts";
import type { YamlPath } from "../yaml/decode.ts";
import { CONTAINER_ROOT_DIR, ROOTFS_PROPAGATION, TALOS_SERVICES } from "./rules.ts";

/** The parts of a decoded service spec the lints read (the schema's `ServiceSpec` fits). */
export interface LintableServiceSpec {
  /** The service name (the service runs as `ext-<name>`). */
  name?: string | null;
  /** What runs: entrypoint, environment, mounts, security. */
  container?: {
    /** The program the container runs; it must exist in the extension's rootfs. */
    entrypoint?: string | null;
    /** `KEY=VALUE` entries of the container's environment. */
    environment?: readonly string[] | null;
    /** OCI mounts into the container. */
    mounts?: readonly LintableMount[] | null;
    /** Security settings of the container. */
    security?: {
      /** Mount propagation of the container's root filesystem (`shared`, `slave`, `private`, …). */
      rootfsPropagation?: string | null;
    } | null;
  } | null;
  /** What the service waits for before it starts. */
  depends?: readonly LintableDependency[] | null;
}

/** The parts of a service spec's OCI mount the lints read. */
export interface LintableMount {
  /** Host path (or filesystem source) mounted. */
  source?: string | null;
  /** Mount point inside the container. */
  destination?: string | null;
  /** Filesystem type, e.g. `bind`. */
  type?: string | null;
  /** Mount options, e.g. `rbind`, `ro`. */
  options?: readonly string[] | null;
}

/** The parts of a service `depends` entry the lints read. */
export interface LintableDependency {
  /** A Talos service id the service waits for (e.g. `cri`, `ext-other`). */
  service?: string | null;
  /** An absolute path the service waits for. */
  path?: string | null;
  /** `configuration: true`: the service waits for its ExtensionServiceConfig document. */
  configuration?: boolean | null;
}

/** Where a spec came from, for the locations of the lints' diagnostics. */
export interface ServiceLintContext {
  /** Location of the spec file, used when `locate` is absent. */
  file: string;
  /** Position of a value in the spec file (from `decodeYaml`). */
  locate?: (path: YamlPath, which?: "key" | "value") => SourceLocation;
  /** The spec's file name, e.g. `multipathd.yaml`; derived from `file` when absent. */
  specFileName?: string;
  /**
   * Whether the extension provides an absolute node path (`/usr/local/lib/containers/x/bin/y`);
   * `undefined` when that is not known yet.
   */
  hasPath(path: string): boolean | undefined;
  /** Names of the directories under `/usr/local/lib/containers/`, when known. */
  containerDirs?: readonly string[];
  /** `name`s of the services (including this one) the same extension ships. */
  otherServices: readonly string[];
}

/** containerd's default PATH inside a container. */
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Normalises an absolute POSIX path (no symlinks): `/a/./b/../c/` → `/a/c`. */
export function cleanAbsolute(p: string): string {
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return `/${out.join("/")}`;
}

const under = (path: string, dir: string) => dir === "/" || path === dir || path.startsWith(`${dir}/`);

function isBind(m: LintableMount): boolean {
  return m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind");
}

function basename(p: string): string {
  const trimmed = p.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/**
 * Whether `containerPath` exists when the service runs: the mount with the longest destination
 * covering it decides (its source on the host), otherwise the container rootfs. Sources outside
 * `/usr/local` are host paths the base image provides; they count as unknown, not missing.
 */
function existsInContainer(
  containerPath: string,
  name: string,
  mounts: readonly LintableMount[],
  hasPath: ServiceLintContext["hasPath"],
): boolean | undefined {
  let best: { dest: string; source: string } | undefined;
  for (const m of mounts) {
    if (!m.destination || !isBind(m) || !m.source?.startsWith("/")) continue;
    const dest = cleanAbsolute(m.destination);
    if (under(containerPath, dest) && (!best || dest.length >= best.dest.length)) {
      best = { dest, source: cleanAbsolute(m.source) };
    }
  }
  if (best) {
    const mapped = cleanAbsolute(best.source + containerPath.slice(best.dest === "/" ? 0 : best.dest.length));
    if (!under(best.source, "/usr/local")) return hasPath(mapped) === true ? true : undefined;
    return hasPath(mapped);
  }
  return hasPath(`${CONTAINER_ROOT_DIR}/${name}${containerPath === "/" ? "" : containerPath}`);
}

function entrypointCandidates(entrypoint: string, environment: readonly string[]): string[] {
  if (entrypoint.includes("/"))
    return [cleanAbsolute(entrypoint.startsWith("/") ? entrypoint : `/${entrypoint}`)];
  let path = DEFAULT_PATH;
  for (const e of environment) if (e.startsWith("PATH=")) path = e.slice(5);
  return path
    .split(":")
    .filter((d) => d.startsWith("/"))
    .map((d) => cleanAbsolute(`${d}/${entrypoint}`));
}

/**
 * Our lints of one service spec beyond Talos's own rules (entrypoint in the container rootfs, mounts, env,
 * dependencies); returns diagnostics, never throws.
 */
export function lintServiceSpec(spec: LintableServiceSpec, ctx: ServiceLintContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  const at = (path: YamlPath, which: "key" | "value" = "value"): SourceLocation =>
    ctx.locate ? ctx.locate(path, which) : { file: ctx.file };
  const name = typeof spec.name === "string" ? spec.name : "";
  const validName = /^[-_a-z0-9]+$/.test(name);
  const container = spec.container ?? {};
  const mounts = container.mounts ?? [];
  const entrypoint = typeof container.entrypoint === "string" ? container.entrypoint : "";
  const containerDir = `${CONTAINER_ROOT_DIR}/${name}`;

  // The spec file's name is irrelevant to Talos, which keys everything on `name`; a mismatch is
  // how the container directory ended up under the wrong name upstream (extensions#1018).
  const fileName = ctx.specFileName ?? basename(ctx.file.slice(ctx.file.lastIndexOf(":") + 1));
  const stem = fileName.endsWith(".yaml") ? fileName.slice(0, -5) : fileName;
  if (validName && stem !== "" && stem !== name) {
    out.push(
      diagnostic(
        "LINT_SERVICE_NAME_MISMATCH",
        "warning",
        `service name "${name}" does not match its spec file name "${fileName}"`,
        {
          hint: `Talos runs it as ext-${name} and needs ${containerDir}/; rename the file to ${name}.yaml (or set name: ${stem}) so the names cannot drift apart`,
          location: at(["name"]),
        },
      ),
    );
  }

  if (validName) {
    const present = ctx.hasPath(containerDir);
    if (present === false) {
      const dirs = ctx.containerDirs ?? [];
      const near = dirs.includes(stem) && stem !== name ? stem : didYouMean(name, dirs);
      out.push(
        diagnostic(
          "LINT_SERVICE_CONTAINER_DIR_MISSING",
          "error",
          `container rootfs ${containerDir}/ for service "${name}" is missing; Talos fails to start ext-${name}`,
          {
            hint: near
              ? `the extension has ${CONTAINER_ROOT_DIR}/${near}/: rename it to ${name}/ or set name: ${near}`
              : `create the (possibly empty) directory rootfs${containerDir}/ in the extension`,
            location: at(["name"]),
          },
        ),
      );
    }

    if (entrypoint !== "") {
      const candidates = entrypointCandidates(entrypoint, container.environment ?? []);
      const results = candidates.map((c) => existsInContainer(c, name, mounts, ctx.hasPath));
      if (results.length > 0 && results.every((r) => r === false)) {
        out.push(
          diagnostic(
            "LINT_SERVICE_ENTRYPOINT_MISSING",
            "error",
            `entrypoint "${entrypoint}" exists neither in the container rootfs ${containerDir}/ nor under a bind mount`,
            {
              hint: entrypoint.includes("/")
                ? `ship it as rootfs${containerDir}${candidates[0]}, or bind-mount the host directory holding it (e.g. source and destination ${dirOf(candidates[0]!)})`
                : `a bare name is looked up in PATH inside the container; use an absolute path and ship the binary under rootfs${containerDir}/ or bind-mount its directory`,
              location: at(["container", "entrypoint"]),
            },
          ),
        );
      }
    }
  }

  const propagation = container.security?.rootfsPropagation;
  if (typeof propagation === "string" && propagation !== "" && !ROOTFS_PROPAGATION.includes(propagation)) {
    const near = didYouMean(propagation, ROOTFS_PROPAGATION);
    out.push(
      diagnostic(
        "LINT_SERVICE_ROOTFS_PROPAGATION",
        "error",
        `rootfsPropagation "${propagation}" is not a valid propagation mode`,
        {
          hint: `Talos passes it to the runtime unchecked and the container fails to start; use one of ${ROOTFS_PROPAGATION.join(", ")}${near ? ` (did you mean "${near}"?)` : ""}`,
          location: at(["container", "security", "rootfsPropagation"]),
        },
      ),
    );
  }

  const known = new Set(ctx.otherServices.filter((s) => s !== name));
  (spec.depends ?? []).forEach((dep, i) => {
    if (dep?.configuration === true) {
      out.push(
        diagnostic(
          "LINT_SERVICE_WAITS_FOR_CONFIG",
          "warning",
          `service "${name}" waits for an ExtensionServiceConfig named "${name}" (depends: configuration: true) and stays Waiting forever without one`,
          {
            hint: `document that every node needs an ExtensionServiceConfig with name: ${name}, or drop the dependency if the service can start without configuration`,
            location: at(["depends", i, "configuration"]),
          },
        ),
      );
    }
    const target = dep?.service;
    if (typeof target !== "string" || target === "") return;
    const loc = at(["depends", i, "service"]);
    if (TALOS_SERVICES.includes(target)) return;
    const candidates = [...TALOS_SERVICES, ...[...known].map((s) => `ext-${s}`)];
    if (target.startsWith("ext-")) {
      const other = target.slice(4);
      if (other === name) {
        out.push(
          diagnostic(
            "LINT_SERVICE_UNKNOWN_DEPENDENCY",
            "error",
            `service "${name}" depends on itself (${target}) and never starts`,
            {
              hint: "remove this dependency",
              location: loc,
            },
          ),
        );
      } else if (!known.has(other)) {
        const near = didYouMean(target, candidates);
        out.push(
          diagnostic(
            "LINT_SERVICE_UNKNOWN_DEPENDENCY",
            "warning",
            `service dependency "${target}" is not provided by this extension; ext-${name} waits until it runs`,
            {
              hint: near
                ? `did you mean "${near}"?`
                : `make sure the extension providing a service named "${other}" is installed on every node`,
              location: loc,
            },
          ),
        );
      }
      return;
    }
    const near = known.has(target) || target === name ? `ext-${target}` : didYouMean(target, candidates);
    out.push(
      diagnostic(
        "LINT_SERVICE_UNKNOWN_DEPENDENCY",
        "error",
        `service dependency "${target}" is not a Talos service; ext-${name} waits forever`,
        {
          hint: near
            ? `did you mean "${near}"?${near.startsWith("ext-") ? " Extension services are addressed as ext-<name>." : ""}`
            : `depend on one of ${TALOS_SERVICES.join(", ")} or ext-<name> of another extension service`,
          location: loc,
        },
      ),
    );
  });

  // multipathd enumerates paths through the udev database; without /run/udev it finds none (extensions#946).
  if (name === "multipathd" || basename(entrypoint) === "multipathd") {
    const covered = mounts.some(
      (m) => m.destination && isBind(m) && under("/run/udev", cleanAbsolute(m.destination)),
    );
    if (!covered) {
      out.push(
        diagnostic(
          "LINT_MULTIPATHD_RUN_UDEV",
          "error",
          "multipathd runs without /run/udev mounted, so it discovers no paths",
          {
            hint: "add a mount { source: /run/udev, destination: /run/udev, type: bind, options: [bind, ro] }",
            location: at(container.mounts ? ["container", "mounts"] : ["container"], "key"),
          },
        ),
      );
    }
  }
  return out;
}

function dirOf(p: string): string {
  const i = p.lastIndexOf("/");
  return i <= 0 ? "/" : p.slice(0, i);
}
