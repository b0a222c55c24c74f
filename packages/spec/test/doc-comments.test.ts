import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { undocumentedExports } from "../../../tools/doc-comments.ts";

test("every export of src/index.ts, every field of its interfaces and every public class member has a doc comment", () => {
  const index = fileURLToPath(new URL("../src/index.ts", import.meta.url));
  expect(undocumentedExports(index)).toEqual([]);
});

test("the helper lists undocumented exports through re-exports, interface fields and class members included", () => {
  const index = fileURLToPath(new URL("fixtures/doc-comments/src/index.ts", import.meta.url));
  expect(undocumentedExports(index)).toEqual([
    "LIMIT (src/api.ts:24)",
    "Options.b (src/api.ts:5)",
    "Pair.left (src/api.ts:28)",
    "Widget.color (src/api.ts:38)",
    "Widget.spin (src/api.ts:44)",
    "deep (src/deep.ts:1)",
    "plain (src/api.ts:8)",
  ]);
});
