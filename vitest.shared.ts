import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Tests import sibling packages from source so a change in `spec` is seen by `cli` tests
// without a rebuild; the CLI's end-to-end tests still spawn the built binary.
const src = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      "@talos-ext/spec": src("spec"),
      "@talos-ext/image": src("image"),
      "@talos-ext/config": src("config"),
      "@talos-ext/talosctl": src("talosctl"),
      "@talos-ext/installer": src("installer"),
      "@talos-ext/deploy": src("deploy"),
    },
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    pool: "forks",
  },
});
