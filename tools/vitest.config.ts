import { defineConfig, mergeConfig } from "vitest/config";
import shared from "../vitest.shared.ts";

// Only the workspace tooling's own tests (the CI selection, the release packaging test); the
// harness and doubles are exercised by the packages' tests that use them.
export default mergeConfig(shared, defineConfig({ test: { include: ["ci/**/*.test.ts", "*.test.ts"] } }));
