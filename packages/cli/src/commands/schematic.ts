import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  canonicalSchematic,
  FactoryClient,
  formatFactoryInstallerRef,
  parseSchematic,
  schematicId,
} from "@talos-ext/installer";
import { type Command, stringOption, usageError } from "../command.ts";
import type { CliIo } from "../io.ts";
import { printJson } from "../report.ts";

const ACTIONS = ["id", "create", "url"] as const;

async function readInput(
  io: CliIo,
  arg: string,
  stdin: () => Promise<string>,
): Promise<{ text: string; file: string }> {
  if (arg === "-") return { text: await stdin(), file: "<stdin>" };
  const file = resolve(io.cwd, arg);
  return { text: await readFile(file, "utf8"), file: arg };
}

/** Reads all of stdin (the schematic may be piped in). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** The factory client options of a command line. */
export function factoryClient(ctx: { values: Record<string, unknown>; io: CliIo }): FactoryClient {
  const url =
    stringOption(ctx.values.factory as string | undefined) ?? ctx.io.env.TALOS_EXT_FACTORY ?? undefined;
  const token = ctx.io.env.TALOS_EXT_FACTORY_TOKEN;
  return new FactoryClient({
    ...(url ? { url } : {}),
    ...(ctx.values["insecure-factory"] === true ? { allowInsecure: true } : {}),
    ...(token ? { auth: { token } } : {}),
  });
}

export const FACTORY_OPTIONS = {
  factory: {
    type: "string",
    value: "URL",
    description: "Image Factory URL (default https://factory.talos.dev, or TALOS_EXT_FACTORY)",
  },
  "insecure-factory": { type: "boolean", description: "allow a plain-HTTP factory URL (local factories)" },
} as const;

export const schematicCommand: Command = {
  name: "schematic",
  summary: "Image Factory schematics: ID offline, create on a factory, installer reference",
  description: [
    "id <file|->      the schematic ID exactly as the factory computes it (offline)",
    "create <file|->  POST the schematic to the factory; prints the factory's ID",
    "url <id>         the factory installer reference for a Talos version",
    "A factory token is read from TALOS_EXT_FACTORY_TOKEN, never from flags.",
  ].join("\n"),
  positionals: [
    { name: "action", required: true, description: `one of ${ACTIONS.join(", ")}` },
    {
      name: "input",
      required: true,
      description: "schematic file (YAML or JSON) or - for stdin; the ID for url",
    },
  ],
  options: {
    ...FACTORY_OPTIONS,
    "talos-version": { type: "string", value: "V", description: "url: Talos version (v1.11.2)" },
    platform: { type: "string", value: "P", description: "url: platform (default metal)" },
    secureboot: { type: "boolean", description: "url: the SecureBoot installer" },
    "factory-registry": {
      type: "string",
      value: "HOST",
      description: "url: registry host (default factory.talos.dev)",
    },
  },
  examples: [
    "talos-ext schematic id schematic.yaml",
    "echo '{}' | talos-ext schematic id - --json",
    "talos-ext schematic create schematic.yaml --factory https://factory.example.com",
    "talos-ext schematic url 376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba --talos-version v1.11.2",
  ],
  async run(ctx) {
    const action = ctx.positionals[0] as string;
    const arg = ctx.positionals[1] as string;
    if (!(ACTIONS as readonly string[]).includes(action))
      throw usageError(`schematic: unknown action "${action}"`, `actions: ${ACTIONS.join(", ")}`);
    if (action === "url") {
      const version = stringOption(ctx.values["talos-version"]);
      if (!version) throw usageError("schematic url: --talos-version is required");
      const platform = stringOption(ctx.values.platform);
      const host = stringOption(ctx.values["factory-registry"]);
      const ref = formatFactoryInstallerRef({
        schematicId: arg,
        version,
        ...(platform ? { platform } : {}),
        ...(host ? { host } : {}),
        secureboot: ctx.values.secureboot === true,
      });
      if (ctx.json) printJson(ctx.io, { ok: true, ref });
      else ctx.io.stdout(`${ref}\n`);
      return 0;
    }
    const { text, file } = await readInput(ctx.io, arg, readStdin);
    if (action === "id") {
      const schematic = parseSchematic(text, { file });
      const id = schematicId(schematic);
      if (ctx.json) printJson(ctx.io, { ok: true, id, canonical: canonicalSchematic(schematic) });
      else ctx.io.stdout(`${id}\n`);
      return 0;
    }
    // Validate locally first: the factory's 400 text is less precise than our positions.
    parseSchematic(text, { file });
    const created = await factoryClient(ctx).createSchematic(text);
    if (ctx.json) printJson(ctx.io, { ok: true, ...created });
    else ctx.io.stdout(`${created.id}\n`);
    return 0;
  },
};
