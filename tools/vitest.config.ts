import { defineConfig } from "vitest/config";

// Only the workspace tooling's own unit tests; the harness and doubles are exercised by the
// packages' tests that use them.
export default defineConfig({ test: { include: ["ci/**/*.test.ts"] } });
