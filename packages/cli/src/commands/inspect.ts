import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { inspectLayout, inspectReference } from "@talos-ext/image";
import { type Command, stringOption } from "../command.ts";
import { printJson } from "../report.ts";
import { REGISTRY_OPTIONS, registryOptions } from "./registry-options.ts";

export const inspectCommand: Command = {
  name: "inspect",
  summary: "show what an image holds: platforms, layers, labels, and its Talos extension manifest",
  description: [
    "Reads an OCI image layout (a directory or an oci-archive tar), or pulls a registry reference (digests verified), and",
    "prints per platform the digest, labels and layers, plus the extension's manifest, services",
    "and whether it validates.",
  ].join("\n"),
  positionals: [
    {
      name: "image",
      required: true,
      description: "OCI layout directory, oci-archive tar, or registry reference",
    },
  ],
  options: {
    ...REGISTRY_OPTIONS,
    "talos-version": {
      type: "string",
      value: "V",
      description: "Talos version the extension is validated against",
    },
  },
  examples: [
    "talos-ext inspect dist/multipath-tools",
    "talos-ext inspect registry.example/ext/multipath-tools:0.13.0 --json",
    "talos-ext inspect 127.0.0.1:5000/ext/hello-service:1.0.0 --insecure-registry 127.0.0.1:5000",
  ],
  async run(ctx) {
    const arg = ctx.positionals[0]!;
    const local = resolve(ctx.io.cwd, arg);
    const talosVersion = stringOption(ctx.values["talos-version"]);
    const validation = talosVersion ? { talosVersion } : {};
    const result = existsSync(local)
      ? await inspectLayout(local, local, validation)
      : await inspectReference(arg, registryOptions(ctx), validation);
    if (ctx.json) {
      printJson(ctx.io, result);
      return 0;
    }
    const out: string[] = [
      `${result.source}`,
      `  digest:     ${result.digest}`,
      `  media type: ${result.mediaType}`,
    ];
    for (const img of result.images) {
      out.push(`  ${img.platform}  ${img.digest}`);
      for (const [k, v] of Object.entries(img.config.labels)) out.push(`    label ${k}=${v}`);
      for (const l of img.layers) out.push(`    layer ${l.digest} ${l.size} bytes`);
      if (img.extension?.manifest) {
        const m = img.extension.manifest.metadata;
        out.push(
          `    extension ${m.name} ${m.version} (${img.extension.ok ? "valid" : `${img.extension.problems} problem(s)`})`,
        );
        if (m.compatibility.talos.version)
          out.push(`    compatibility: Talos ${m.compatibility.talos.version}`);
        if (img.extension.services.length)
          out.push(`    services: ${img.extension.services.map((s) => `ext-${s}`).join(", ")}`);
      }
    }
    ctx.io.stdout(`${out.join("\n")}\n`);
    return 0;
  },
};
