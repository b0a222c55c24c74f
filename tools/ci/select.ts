/** Which Nx runs `pnpm test` makes: pure, so the choice is tested without running Nx. */

export type Selection =
  | { mode: "all" }
  | { mode: "affected"; base: string; affected: string[]; extensions: string[] };

const OURS = ["build", "typecheck", "lint", "test"];

/** The `nx` argument lists to run, in order; empty when nothing is affected. */
export function selectRuns(s: Selection): string[][] {
  const style = "--output-style=static";
  if (s.mode === "all") {
    return [
      ["run-many", "-t", ...OURS, "--exclude=tag:talos-ext", style],
      ["run-many", "-t", "lint", "--projects=tag:talos-ext", style],
    ];
  }
  const isExtension = new Set(s.extensions);
  const packages = s.affected.filter((p) => !isExtension.has(p)).sort();
  const extensions = s.affected.filter((p) => isExtension.has(p)).sort();
  const runs: string[][] = [];
  if (packages.length) runs.push(["run-many", "-t", ...OURS, `--projects=${packages.join(",")}`, style]);
  if (extensions.length) runs.push(["run-many", "-t", "lint", `--projects=${extensions.join(",")}`, style]);
  return runs;
}
