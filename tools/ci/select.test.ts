import { expect, test } from "vitest";
import { selectRuns } from "./select.ts";

test("without a base: every package target, then every extension's lint", () => {
  expect(selectRuns({ mode: "all" })).toEqual([
    [
      "run-many",
      "-t",
      "build",
      "typecheck",
      "lint",
      "test",
      "--exclude=tag:talos-ext",
      "--output-style=static",
    ],
    ["run-many", "-t", "lint", "--projects=tag:talos-ext", "--output-style=static"],
  ]);
});

test("with a base: only what is affected, extensions linted and never built", () => {
  const runs = selectRuns({
    mode: "affected",
    base: "origin/main",
    affected: ["multipath-tools", "@talos-ext/spec", "base", "@talos-ext/cli"],
    extensions: ["base", "multipath-tools", "hello-service"],
  });
  expect(runs).toEqual([
    [
      "run-many",
      "-t",
      "build",
      "typecheck",
      "lint",
      "test",
      "--projects=@talos-ext/cli,@talos-ext/spec",
      "--output-style=static",
    ],
    ["run-many", "-t", "lint", "--projects=base,multipath-tools", "--output-style=static"],
  ]);
  expect(selectRuns({ mode: "affected", base: "x", affected: [], extensions: ["base"] })).toEqual([]);
  expect(
    selectRuns({ mode: "affected", base: "x", affected: ["hello-service"], extensions: ["hello-service"] }),
  ).toEqual([["run-many", "-t", "lint", "--projects=hello-service", "--output-style=static"]]);
});
