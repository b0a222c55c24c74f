/**
 * Copy paths a build refuses: `..` in a dependency's or finalize's `from`/`to` or in a source
 * destination (it would climb out of the place the copy is meant for; bldr trees never need
 * it), and an absolute source destination (it names a file in the step's /tmp/build). One rule
 * for both: `lint` reports what `build` would refuse, before the build starts.
 */
import { type Diagnostic, diagnostic } from "../errors.ts";
import type { LoadedPackage } from "../loader/index.ts";

/** A copy path of a package that a build refuses. */
export interface CopyPathProblem {
  /** Where in pkg.yaml, for `doc.locate`. */
  path: (string | number)[];
  /** The offending value. */
  value: string;
  /** What is wrong, without the package name. */
  message: string;
  /** How to fix it. */
  hint: string;
}

const DOT_DOT_HINT = "write the path without '..' (absolute, or relative to the working directory)";

function climbs(value: string | undefined): value is string {
  return value !== undefined && value.split("/").includes("..");
}

/** Every copy path of `p` that a build refuses, in pkg.yaml order. */
export function copyPathProblems(p: LoadedPackage): CopyPathProblem[] {
  const out: CopyPathProblem[] = [];
  const dotDot = (value: string | undefined, path: (string | number)[]) => {
    if (climbs(value))
      out.push({
        path,
        value,
        message: `path "${value}" contains "..", which is refused`,
        hint: DOT_DOT_HINT,
      });
  };
  p.pkg.dependencies.forEach((d, i) => {
    dotDot(d.from, ["dependencies", i, "from"]);
    dotDot(d.to, ["dependencies", i, "to"]);
  });
  p.pkg.finalize.forEach((f, i) => {
    dotDot(f.from, ["finalize", i, "from"]);
    dotDot(f.to, ["finalize", i, "to"]);
  });
  p.pkg.steps.forEach((step, i) => {
    step.sources.forEach((src, j) => {
      const path = ["steps", i, "sources", j, "destination"];
      if (src.destination.startsWith("/")) {
        out.push({
          path,
          value: src.destination,
          message: `source destination "${src.destination}" is absolute`,
          hint: "destination is a file name in the step's working directory (/tmp/build)",
        });
      }
      dotDot(src.destination, path);
    });
  });
  return out;
}

/** `copyPathProblems` as lint errors (the build would stop on each with BUILD_PATH_TRAVERSAL). */
export function lintCopyPaths(p: LoadedPackage): Diagnostic[] {
  return copyPathProblems(p).map((x) =>
    diagnostic("LINT_PATH_TRAVERSAL", "error", `package "${p.pkg.name}": ${x.message}`, {
      hint: x.hint,
      location: p.doc.locate(x.path),
    }),
  );
}
