import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { undocumentedExports } from "../../../tools/doc-comments.ts";

test("every export of src/index.ts, every field of its interfaces (nested inline ones too) and every public class member has a doc comment", () => {
  const index = fileURLToPath(new URL("../src/index.ts", import.meta.url));
  expect(undocumentedExports(index)).toEqual([]);
});
