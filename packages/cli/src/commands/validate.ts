import { resolve } from "node:path";
import { DEFAULT_TALOS_VERSION, validateExtension } from "@talos-ext/spec";
import { type Command, stringOption } from "../command.ts";
import { printDiagnostics, printJson } from "../report.ts";
import { singlePlatform } from "./shared.ts";

export const validateCommand: Command = {
  name: "validate",
  summary: "validate a built extension (directory, tar or OCI image layout) with Talos's rules",
  description: [
    "Checks an extension image the way Talos's imager and extensions-validator do (layout,",
    "manifest, path allow-list of the chosen Talos version, version formats, service specs,",
    "compatibility constraint), plus lints for known breakages of extension services.",
  ].join("\n"),
  positionals: [
    { name: "input", required: true, description: "extension directory, .tar(.gz|.zst) or OCI image layout" },
  ],
  options: {
    "talos-version": {
      type: "string",
      value: "V",
      description: `Talos version to validate against; default: ${DEFAULT_TALOS_VERSION}`,
    },
    "pkg-name": {
      type: "string",
      value: "NAME",
      description: "expected extension name (like extensions-validator)",
    },
    platform: {
      type: "string",
      value: "P",
      description: "platform to pick from a multi-arch OCI layout; default: linux/amd64",
    },
  },
  examples: [
    "talos-ext validate dist/multipath-tools",
    "talos-ext validate ./ext.tar --talos-version v1.12.0 --pkg-name my-ext",
    "talos-ext validate dist/oci --platform linux/arm64 --json",
  ],
  async run(ctx) {
    const input = resolve(ctx.io.cwd, ctx.positionals[0]!);
    const pkgName = stringOption(ctx.values["pkg-name"]);
    const report = await validateExtension(input, {
      talosVersion: stringOption(ctx.values["talos-version"]) ?? DEFAULT_TALOS_VERSION,
      platform: singlePlatform(ctx),
      ...(pkgName ? { pkgName } : {}),
    });
    if (ctx.json) {
      printJson(ctx.io, {
        ok: report.ok,
        input,
        manifest: report.manifest ?? null,
        services: report.services.map((s) => s.spec.name),
        diagnostics: report.diagnostics,
      });
    } else {
      printDiagnostics(ctx.io, report.diagnostics);
      const name = report.manifest
        ? `${report.manifest.metadata.name} ${report.manifest.metadata.version}`
        : input;
      ctx.io.stderr(`${report.ok ? "valid" : "invalid"}: ${name}\n`);
    }
    return report.ok ? 0 : 1;
  },
};
