/**
 * The libraries as users get them: each package's built `dist/index.js` (the bench script builds
 * them first). BENCH_SPEC_MODULE / BENCH_IMAGE_MODULE point at another build instead, e.g. an
 * older commit's dist, to compare two builds on one machine.
 */
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Skip } from "./types.ts";

export type SpecModule = typeof import("../../packages/spec/dist/index.js");
export type ImageModule = typeof import("../../packages/image/dist/index.js");

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

function target(envName: string, pkg: string): string {
  const override = process.env[envName];
  return override
    ? pathToFileURL(override).href
    : new URL(`../../packages/${pkg}/dist/index.js`, import.meta.url).href;
}

async function load<T>(envName: string, pkg: string): Promise<T> {
  const url = target(envName, pkg);
  try {
    return (await import(url)) as T;
  } catch (cause) {
    throw new Error(
      `cannot import ${url}: ${(cause as Error).message}\n` +
        "build the packages first: NX_DAEMON=false NX_NO_CLOUD=true npx nx run-many -t build",
      { cause },
    );
  }
}

export function loadSpec(): Promise<SpecModule> {
  return load<SpecModule>("BENCH_SPEC_MODULE", "spec");
}

export function loadImage(): Promise<ImageModule> {
  return load<ImageModule>("BENCH_IMAGE_MODULE", "image");
}

/** `exports[name]` as a function, or a Skip naming what is missing (an API still being written). */
export function requireExport<T>(mod: object, name: string, pkg: string): T {
  const fn = (mod as Record<string, unknown>)[name];
  if (typeof fn !== "function") throw new Skip(`${pkg} does not export ${name}() yet`);
  return fn as T;
}

/** The `yaml` package exactly as @talos-ext/spec resolves it (the same version it parses with). */
export function loadYaml(): { parse: (text: string) => unknown } {
  const require = createRequire(new URL("../../packages/spec/package.json", import.meta.url));
  return require("yaml") as { parse: (text: string) => unknown };
}

export function yamlVersion(): string {
  const require = createRequire(new URL("../../packages/spec/package.json", import.meta.url));
  try {
    return (require("yaml/package.json") as { version: string }).version;
  } catch {
    return "?";
  }
}
