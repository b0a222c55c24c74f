/** Test support: helpers shared by the template tests (never imported by library code). */
import { TalosExtError } from "../src/errors.ts";
import { type RenderOptions, renderTemplate, type TemplateData } from "../src/template/index.ts";

export const DATA: TemplateData = {
  ARCH: "aarch64",
  LIBTIRPC_VERSION: "1-3-6",
  NFS_UTILS_VERSION: "2-8-2",
  CONTAINER_TOOLKIT_REF: "a4ba1d4a1a2e4cb6a3a6e4c1e0b6b1c9d3a8f2e7",
  GLIB_VERSION: "2.84.1",
  UTIL_LINUX_VERSION: "2.41.0",
  BUILD_ARG_TEST_STAGE: "",
  EMPTY: "",
  NUM: "42",
  NAME: "Talos",
};

export function render(
  source: string,
  data: TemplateData = DATA,
  options: Partial<RenderOptions> = {},
): string {
  return renderTemplate(source, data, { file: "t.yaml", ...options }).output;
}

/** Renders and returns the TalosExtError it must throw. */
export function renderError(
  source: string,
  data: TemplateData = DATA,
  options: Partial<RenderOptions> = {},
): TalosExtError {
  try {
    renderTemplate(source, data, { file: "t.yaml", ...options });
  } catch (e) {
    if (e instanceof TalosExtError) return e;
    throw new Error(`expected a TalosExtError, got ${String(e)}`);
  }
  throw new Error(`expected ${JSON.stringify(source)} to fail`);
}
