/** `talos-ext lint --target`: one package and the stages it reaches, as the Nx lint target runs it. */
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { EXTENSIONS, expectNoStack, talosExt } from "./run.ts";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "talos-ext-lint-target-"));
  await cp(EXTENSIONS, root, { recursive: true });
  await mkdir(join(root, "examples/broken"));
  await writeFile(
    join(root, "examples/broken/pkg.yaml"),
    "name: broken\nvariant: scratch\nsteps: {{ .NOPE\n",
  );
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("lint --target", () => {
  test("a broken package elsewhere does not fail another package's lint", () => {
    const whole = talosExt(["lint", "--root", root, "--json"]);
    expect(whole.code).toBe(1);
    const r = talosExt(["lint", "--root", root, "--target", "multipath-tools", "--json"]);
    expectNoStack(r.stderr);
    expect(r.code).toBe(0);
    const out = r.json();
    expect(out.packages).toEqual(["base", "multipath-tools"]);
    expect(out.diagnostics.filter((d: { severity: string }) => d.severity === "error")).toEqual([]);
  });

  test("the broken package's own lint shows its load error and that it is unknown", () => {
    const r = talosExt(["lint", "--root", root, "--target", "broken", "--json"]);
    expect(r.code).toBe(1);
    const codes = r.json().diagnostics.map((d: { code: string; file?: string }) => [d.code, d.file]);
    expect(codes).toContainEqual(["GRAPH_TARGET_UNKNOWN", undefined]);
    expect(codes.some(([, file]: [string, string | undefined]) => file === "examples/broken/pkg.yaml")).toBe(
      true,
    );
  });
});
