/** The CLI sits on top of every package: docs/error-codes.md must list exactly their codes. */
import { fileURLToPath } from "node:url";
import { IMAGE_ERROR_CODES } from "@talos-ext/image";
import { SPEC_ERROR_CODES } from "@talos-ext/spec";
import { expect, test } from "vitest";
import { documentedCodes, registryProblems } from "../../../tools/error-codes.ts";
import { CONFIG_ERROR_CODES } from "../../config/src/codes.ts";
import { DEPLOY_ERROR_CODES, DEPLOY_WARNING_CODES } from "../../deploy/src/codes.ts";
import { INSTALLER_ERROR_CODES } from "../../installer/src/codes.ts";
import { NX_ERROR_CODES } from "../../nx/src/codes.ts";
import { TALOSCTL_ERROR_CODES } from "../../talosctl/src/errors.ts";
import { CLI_ERROR_CODES } from "../src/codes.ts";

test("every code in the CLI's source is registered, and every registered code is documented", () => {
  const src = fileURLToPath(new URL("../src", import.meta.url));
  const libraries = [
    ...SPEC_ERROR_CODES,
    ...IMAGE_ERROR_CODES,
    ...CONFIG_ERROR_CODES,
    ...Object.keys(INSTALLER_ERROR_CODES),
    ...Object.keys(TALOSCTL_ERROR_CODES),
    ...Object.keys(DEPLOY_ERROR_CODES),
  ];
  expect(registryProblems(src, CLI_ERROR_CODES, libraries)).toEqual({
    unregistered: [],
    undocumented: [],
  });
});

test("docs/error-codes.md lists no code that no package emits", () => {
  const all = new Set<string>([
    ...SPEC_ERROR_CODES,
    ...IMAGE_ERROR_CODES,
    ...CLI_ERROR_CODES,
    ...NX_ERROR_CODES,
    ...CONFIG_ERROR_CODES,
    ...Object.keys(TALOSCTL_ERROR_CODES),
    ...Object.keys(INSTALLER_ERROR_CODES),
    ...Object.keys(DEPLOY_ERROR_CODES),
    ...Object.keys(DEPLOY_WARNING_CODES),
  ]);
  expect([...documentedCodes()].filter((c) => !all.has(c))).toEqual([]);
});
