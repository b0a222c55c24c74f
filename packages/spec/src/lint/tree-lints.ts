/**
 * Lints over a loaded bldr tree that catch, before any build, the mistakes that otherwise show
 * up only after a long build or at node boot. Each rule comes from a real breakage.
 */
import { posix } from "node:path";
import { type Diagnostic, diagnostic } from "../errors.ts";
import type { LoadedPackage, LoadedTree } from "../loader/index.ts";
import { splitImageRef } from "./image-ref.ts";

const HEX = /^[0-9a-fA-F]*$/;
const SCRIPT_PHASES = ["prepare", "build", "install", "test"] as const;

/** Image references: `:latest` or no tag at all floats; a tag without a digest can be re-pointed. */
export function lintImageRefs(p: LoadedPackage): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  p.pkg.dependencies.forEach((dep, i) => {
    if (dep.image === undefined || seen.has(dep.image)) return;
    seen.add(dep.image);
    const location = p.doc.locate(["dependencies", i, "image"]);
    const ref = splitImageRef(dep.image);
    if (ref.digest) return;
    if (ref.tag === undefined || ref.tag === "latest") {
      out.push(
        diagnostic("LINT_IMAGE_LATEST", "error", `image "${dep.image}" floats on ":latest"`, {
          hint: "pin a version tag and, better, a digest (name:tag@sha256:...) so builds match one Talos release",
          location,
        }),
      );
    } else {
      out.push(
        diagnostic("LINT_IMAGE_TAG_ONLY", "warning", `image "${dep.image}" is pinned by tag only`, {
          hint: "append @sha256:<digest> so the same bytes are used on every build (Renovate can keep it current)",
          location,
        }),
      );
    }
  });
  return out;
}

/** bldr checks only checksum lengths; a non-hex checksum fails later, inside the build. */
export function lintChecksums(p: LoadedPackage): Diagnostic[] {
  const out: Diagnostic[] = [];
  p.pkg.steps.forEach((step, s) => {
    step.sources.forEach((src, i) => {
      for (const algo of ["sha256", "sha512"] as const) {
        const value = src[algo];
        if (value && !HEX.test(value)) {
          out.push(
            diagnostic(
              "LINT_CHECKSUM_NOT_HEX",
              "error",
              `source "${src.destination}": ${algo} is not hexadecimal`,
              {
                hint: "use the hex digest printed by sha256sum/sha512sum (talos-ext update can refresh it)",
                location: p.doc.locate(["steps", s, "sources", i, algo]),
              },
            ),
          );
        }
      }
    });
  });
  return out;
}

/** `cachePaths` attach to script RUNs of the same step only; on a step without scripts they do nothing. */
export function lintCachePaths(p: LoadedPackage): Diagnostic[] {
  const out: Diagnostic[] = [];
  p.pkg.steps.forEach((step, s) => {
    const scripts = SCRIPT_PHASES.reduce((n, phase) => n + step[phase].length, 0);
    if (step.cachePaths.length > 0 && scripts === 0) {
      out.push(
        diagnostic(
          "LINT_CACHEPATHS_NO_SCRIPTS",
          "warning",
          `step ${s} declares cachePaths but has no scripts, so no cache is mounted`,
          {
            hint: "move cachePaths to the step whose scripts use the cache (each step's mounts apply to its own scripts only)",
            location: p.doc.locate(["steps", s, "cachePaths"], "key"),
          },
        ),
      );
    }
  });
  return out;
}

/** Every script text of a package, for the path heuristics below. */
export function scriptText(p: LoadedPackage): string {
  return p.pkg.steps.flatMap((s) => SCRIPT_PHASES.flatMap((phase) => s[phase])).join("\n");
}

/** Where finalize puts `/pkg/<file>` in the image, if it does. */
export function finalizedPkgFile(p: LoadedPackage, file: string): string | undefined {
  for (const f of p.pkg.finalize) {
    const from = f.from ?? (p.pkg.steps.length ? "/tmp/build" : "/pkg");
    const to = f.to ?? "/";
    const target = posix.join("/pkg", file);
    if (from === target) return to.endsWith("/") ? posix.join(to, file) : to;
    if (target.startsWith(`${from.replace(/\/$/, "")}/`)) return posix.join(to, posix.relative(from, target));
  }
  return undefined;
}

export function packageLints(tree: LoadedTree): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const p of tree.packages.values()) {
    out.push(...lintImageRefs(p), ...lintChecksums(p), ...lintCachePaths(p));
  }
  return out;
}
