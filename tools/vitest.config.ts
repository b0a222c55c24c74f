import { defineConfig, mergeConfig } from "vitest/config";
import shared from "../vitest.shared.ts";

// tools/ keeps its tests next to the scripts they test (tools/*.test.ts).
export default mergeConfig(shared, defineConfig({ test: { include: ["*.test.ts"] } }));
