import { fileURLToPath } from "node:url";
import { SPEC_ERROR_CODES } from "@talos-ext/spec";
import { expect, test } from "vitest";
import { registryProblems } from "../../../tools/error-codes.ts";
import { IMAGE_ERROR_CODES } from "../src/codes.ts";

test("every code in the source is registered (here or in spec), and every registered code is documented", () => {
  const src = fileURLToPath(new URL("../src", import.meta.url));
  expect(registryProblems(src, IMAGE_ERROR_CODES, SPEC_ERROR_CODES)).toEqual({
    unregistered: [],
    undocumented: [],
  });
});
