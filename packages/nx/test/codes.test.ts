import { fileURLToPath } from "node:url";
import { SPEC_ERROR_CODES } from "@talos-ext/spec";
import { expect, test } from "vitest";
import { registryProblems } from "../../../tools/error-codes.ts";
import { NX_ERROR_CODES } from "../src/codes.ts";

// nx loads from .ts source with Node's type stripping (erasable syntax only), so it does not
// import image here; its codes pass through the CLI's check instead.
test("every code in the source is registered, and every registered code is documented", () => {
  const src = fileURLToPath(new URL("../src", import.meta.url));
  expect(registryProblems(src, NX_ERROR_CODES, SPEC_ERROR_CODES)).toEqual({
    unregistered: [],
    undocumented: [],
  });
});
