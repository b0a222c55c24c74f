import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { registryProblems } from "../../../tools/error-codes.ts";
import { SPEC_ERROR_CODES } from "../src/codes.ts";

test("every code in the source is registered, and every registered code is documented", () => {
  const src = fileURLToPath(new URL("../src", import.meta.url));
  expect(registryProblems(src, SPEC_ERROR_CODES)).toEqual({ unregistered: [], undocumented: [] });
});
