/**
 * The shape of `talos-ext.yaml`. Every mapping is strict: an unknown key is a typo until proven
 * otherwise (the imager, by contrast, drops unknown keys silently, which is how settings get
 * lost). Descriptions become the JSON Schema editors complete from.
 */
import { z } from "zod";

const TALOS_VERSION = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;
const PLATFORM = /^linux\/(?:amd64|arm64)$/;
/** `FROM=TO`, the same syntax as `--mirror` / `--source-mirror`. */
const MIRROR = /^[^=\s]+=[^=\s]+$/;

const text = (description: string) => z.string().min(1).describe(description);
const list = (item: z.ZodString, description: string) => z.array(item).describe(description);

const talos = z
  .strictObject({
    version: z
      .string()
      .regex(TALOS_VERSION, "a Talos version such as v1.13.0")
      .describe("Talos version the extensions are built, validated and installed for, e.g. v1.13.0"),
  })
  .describe("The Talos release the workspace targets");

const registry = z
  .strictObject({
    repository: text(
      "Where built extensions are pushed: <repository>/<extension>:<version>, e.g. registry.example/ext",
    ),
    insecure: z.boolean().optional().describe("Plain HTTP to this registry (default: HTTPS, verified)"),
    caFile: text("Extra CA certificate (PEM) for the registry's TLS; relative to this file").optional(),
    credentials: z
      .enum(["docker-config", "none"])
      .optional()
      .describe(
        "Where credentials come from: docker-config (~/.docker/config.json, credHelpers, credsStore; the default) or none. Secrets never live in this file.",
      ),
  })
  .describe("The registry extensions and installers are pushed to");

const mirrors = z
  .strictObject({
    images: list(z.string().regex(MIRROR, "FROM=TO"), "Image prefix mirrors, FROM=TO").optional(),
    sources: list(z.string().regex(MIRROR, "FROM=TO"), "Source URL prefix mirrors, FROM=TO").optional(),
  })
  .describe("Mirrors for base images and source downloads (offline and air-gapped builds)");

const nodes = z
  .strictObject({
    controlPlane: list(
      z.string().min(1),
      "Control-plane node addresses, upgraded strictly one at a time",
    ).optional(),
    worker: list(
      z.string().min(1),
      "Worker node addresses, upgraded in batches of rollout.maxParallel",
    ).optional(),
  })
  .describe("The cluster's nodes by role");

const cluster = z
  .strictObject({
    talosconfig: text("The talosconfig file (default: $TALOSCONFIG, else ~/.talos/config)").optional(),
    context: text("The talosconfig context to use").optional(),
    endpoints: list(z.string().min(1), "API endpoints (default: the context's)").optional(),
    nodes: nodes.optional(),
  })
  .describe("The cluster the installer is rolled out to");

const extensions = z
  .strictObject({
    add: list(
      z.string().min(1),
      "Extensions of this workspace to build and install (Nx project names)",
    ).optional(),
    official: list(
      z.string().min(1),
      "Official extensions to install, by catalog name, e.g. siderolabs/iscsi-tools",
    ).optional(),
    remove: list(
      z.string().min(1),
      "Extensions to remove from the nodes; nothing is ever removed unless named here",
    ).optional(),
  })
  .describe("The extension set: what nodes run now is kept, these are added, only `remove` drops");

const installer = z
  .strictObject({
    route: z
      .enum(["auto", "factory", "imager"])
      .optional()
      .describe("auto (default): Image Factory when every extension is official, else the imager"),
    factory: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe("Image Factory URL (default: https://factory.talos.dev)"),
    platform: text("Installer platform, e.g. metal, aws (default: metal)").optional(),
    secureboot: z.boolean().optional().describe("Build a SecureBoot installer"),
    imager: z
      .strictObject({
        image: text("Imager image (default: ghcr.io/siderolabs/imager:<talos.version>)").optional(),
        binary: text("A local imager binary to run instead of the image").optional(),
      })
      .optional()
      .describe("How the imager runs"),
    repository: text("Where composed installers are pushed, e.g. registry.example/installer").optional(),
  })
  .describe("How the installer is composed");

const rollout = z
  .strictObject({
    maxParallel: z.int().min(1).max(100).optional().describe("Workers upgraded at once (default 1)"),
    rollbackOnFailure: z.boolean().optional().describe("Roll a node back when its verification fails"),
    rebootMode: z.enum(["default", "powercycle"]).optional().describe("talosctl upgrade --reboot-mode"),
    timeoutSeconds: z
      .int()
      .min(1)
      .optional()
      .describe("How long a node may take to come back and verify (default 900)"),
  })
  .describe("Rollout policy");

/** The whole `talos-ext.yaml`. */
export const configSchema = z
  .strictObject({
    $schema: z.string().optional().describe("The JSON Schema this file follows (for editors)"),
    talos,
    platforms: list(
      z.string().regex(PLATFORM, "linux/amd64 or linux/arm64"),
      "Platforms to build",
    ).optional(),
    tree: z
      .strictObject({ root: text("The bldr tree (Pkgfile, vars.yaml); relative to this file") })
      .optional()
      .describe("The extensions tree"),
    registry: registry.optional(),
    mirrors: mirrors.optional(),
    cache: z
      .strictObject({ sources: text("The source cache directory; relative to this file").optional() })
      .optional()
      .describe("Caches"),
    cluster: cluster.optional(),
    extensions: extensions.optional(),
    installer: installer.optional(),
    rollout: rollout.optional(),
  })
  .describe("talos-ext workspace configuration (talos-ext.yaml)");

/** A validated `talos-ext.yaml`, paths not yet resolved. */
export type ConfigFile = z.output<typeof configSchema>;

/** The JSON Schema of `talos-ext.yaml` (draft 2020-12), for editors. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
}
