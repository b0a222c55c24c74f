import { resolve } from "node:path";
import { pushLayout } from "@talos-ext/image";
import { type Command, stringOption } from "../command.ts";
import { printJson } from "../report.ts";
import { REGISTRY_OPTIONS, registryOptions } from "./registry-options.ts";

export const pushCommand: Command = {
  name: "push",
  summary: "push an OCI image layout (image or multi-platform index) to a registry",
  description: [
    "Uploads every blob the registry lacks (HEAD first, cross-repository mount when asked),",
    "retrying on 429/5xx/resets, and puts the tag last so it never points at partial content.",
    "Credentials come from ~/.docker/config.json (auths, credsStore, credHelpers).",
  ].join("\n"),
  positionals: [
    {
      name: "layout",
      required: true,
      description: "OCI image layout directory (e.g. dist/<target>) or oci-archive tar",
    },
    {
      name: "ref",
      required: true,
      description: "destination, e.g. registry.example/ext/multipath-tools:0.13.0",
    },
  ],
  options: {
    ...REGISTRY_OPTIONS,
    "mount-from": {
      type: "string",
      value: "REPO",
      description: "repository on the same registry to mount blobs from",
    },
  },
  examples: [
    "talos-ext push dist/multipath-tools registry.example/ext/multipath-tools:0.13.0",
    "talos-ext push dist/hello-service 127.0.0.1:5000/ext/hello-service:1.0.0 --insecure-registry 127.0.0.1:5000",
    "talos-ext push dist/udev ghcr.io/acme/udev:v1 --mount-from acme/base --json",
  ],
  async run(ctx) {
    const layout = resolve(ctx.io.cwd, ctx.positionals[0]!);
    const ref = ctx.positionals[1]!;
    const mountFrom = stringOption(ctx.values["mount-from"]);
    const r = await pushLayout(layout, ref, {
      ...registryOptions(ctx),
      ...(mountFrom ? { mountFrom } : {}),
      onProgress: (e) => {
        if (ctx.json) return;
        if (e.type === "blob-skipped") ctx.io.stderr(`exists   ${e.digest}\n`);
        else if (e.type === "blob-mounted") ctx.io.stderr(`mounted  ${e.digest} from ${e.from}\n`);
        else if (e.type === "blob-upload" && e.bytes === e.total)
          ctx.io.stderr(`uploaded ${e.digest} (${e.total} bytes)\n`);
        else if (e.type === "manifest-put") ctx.io.stderr(`manifest ${e.digest} -> ${e.reference}\n`);
        else if (e.type === "retry") ctx.io.stderr(`retry ${e.attempt}: ${e.reason}\n`);
      },
    });
    if (ctx.json) printJson(ctx.io, { ok: true, ref, ...r });
    else ctx.io.stdout(`${ref}@${r.digest}\n`);
    return 0;
  },
};
