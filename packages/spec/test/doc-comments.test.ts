import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { undocumentedExports } from "../../../tools/doc-comments.ts";

test("every export of src/index.ts, every field of its interfaces (nested inline ones too) and every public class member has a doc comment", () => {
  const index = fileURLToPath(new URL("../src/index.ts", import.meta.url));
  expect(undocumentedExports(index)).toEqual([]);
});

/** The fixture's findings, computed once: each call builds a TypeScript Program. */
let fixture: string[] | undefined;
const fixtureFindings = () =>
  (fixture ??= undocumentedExports(
    fileURLToPath(new URL("fixtures/doc-comments/src/index.ts", import.meta.url)),
  ));

test("the helper lists undocumented exports through re-exports, interface fields and class members included", () => {
  const flat = fixtureFindings().filter(
    (e) => !e.includes("src/nested.ts") && !e.includes("src/signatures.ts"),
  );
  expect(flat).toEqual([
    "LIMIT (src/api.ts:24)",
    "Options.b (src/api.ts:5)",
    "Pair.left (src/api.ts:28)",
    "Widget.color (src/api.ts:38)",
    "Widget.spin (src/api.ts:44)",
    "deep (src/deep.ts:1)",
    "plain (src/api.ts:8)",
  ]);
});

test("the helper lists fields of inline object types by dotted path, through arrays, unions, intersections and wrappers, and never enters a named type", () => {
  const nested = fixtureFindings().filter((e) => e.includes("src/nested.ts"));
  // Absent on purpose: every documented field, `Build.ok.*` (all documented), `Named.hidden`
  // (a named type, reached only through `target`, `layers` and `Extended`) and
  // `Build.onEvent.kind` (a function's parameter is not a field).
  expect(nested).toEqual([
    "Build.build.jobs (src/nested.ts:10)",
    "Build.build.limits.cpu (src/nested.ts:14)",
    "Build.hooks.when (src/nested.ts:22)",
    "Build.layers.digest (src/nested.ts:27)",
    "Build.sameLine.x (src/nested.ts:36)",
    "Build.steps.run (src/nested.ts:17)",
    "Build.target.url (src/nested.ts:25)",
    "Choice.a (src/nested.ts:48)",
    "Extended.extra (src/nested.ts:41)",
    "Holder.opts.level (src/nested.ts:57)",
  ]);
});

test("the helper lists fields of inline object types in the parameters and return types of exported functions, public class methods and constructors, and in exported consts' declared types", () => {
  const signatures = fixtureFindings().filter((e) => e.includes("src/signatures.ts"));
  // Absent on purpose: every documented field; `clean` (a named parameter type, a callback's
  // parameter, a fully documented literal, a named return type); the implementation of
  // `overloadedOptions` (`impl`); `NAMED` (a named declared type); `Runner.secret`,
  // `Runner.#hidden` and the private constructor of `Closed`.
  expect(signatures).toEqual([
    "Runner.constructor.options.verbose (src/signatures.ts:83)",
    "Runner.create.options.name (src/signatures.ts:99)",
    "Runner.mode.level (src/signatures.ts:95)",
    "Runner.run.options.dryRun (src/signatures.ts:87)",
    "Runner.run.return.exitCode (src/signatures.ts:87)",
    "Runner.state.phase (src/signatures.ts:91)",
    "SETTINGS.retries (src/signatures.ts:72)",
    "arrow.options.quiet (src/signatures.ts:68)",
    "arrow.return.code (src/signatures.ts:68)",
    "destructured.[param 2].jobs (src/signatures.ts:22)",
    "rest.items.id (src/signatures.ts:40)",
    "returns.return.ok (src/signatures.ts:30)",
    "withOptions.options.depth (src/signatures.ts:12)",
    "withOptions.options.limits.cpu (src/signatures.ts:14)",
  ]);
});
