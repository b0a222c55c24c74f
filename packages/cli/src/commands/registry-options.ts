import type { RegistryClientOptions } from "@talos-ext/image";
import { type CommandContext, listOption, type OptionSpec, stringOption } from "../command.ts";

export const REGISTRY_OPTIONS: Record<string, OptionSpec> = {
  insecure: {
    type: "boolean",
    description: "talk plain HTTP to registries (default: HTTPS with certificate verification)",
  },
  "insecure-registry": {
    type: "string",
    multiple: true,
    value: "HOST",
    description: "plain HTTP for this registry only",
  },
  "ca-file": { type: "string", value: "FILE", description: "extra CA certificate for registry TLS" },
};

/** Credentials come from ~/.docker/config.json and credential helpers, never from flags. */
export function registryOptions(ctx: CommandContext): RegistryClientOptions {
  const hosts = listOption(ctx.values["insecure-registry"]);
  const caFile = stringOption(ctx.values["ca-file"]);
  const dockerConfig = ctx.io.env.DOCKER_CONFIG;
  return {
    insecure: ctx.values.insecure === true ? true : hosts.length ? hosts : false,
    ...(caFile ? { caFile } : {}),
    ...(dockerConfig ? { dockerConfig: `${dockerConfig}/config.json` } : {}),
  };
}
