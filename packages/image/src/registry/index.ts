export type { Challenge } from "./auth.ts";
export { parseChallenges } from "./auth.ts";
export type { BlobDescriptor, BlobSource, ProgressEvent, RegistryClientOptions } from "./client.ts";
export { RegistryClient } from "./client.ts";
export type { CredentialInput } from "./credentials.ts";
export { configKeyToRegistry, defaultDockerConfigPath } from "./credentials.ts";
export { digestOf, parseDigest } from "./digest.ts";
export type { RegistryErrorCode } from "./errors.ts";
export type { PullLayoutOptions, PushLayoutOptions, PushLayoutResult } from "./layout.ts";
export { pullLayout, pushLayout, REF_NAME_ANNOTATION } from "./layout.ts";
export {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_INDEX,
  OCI_MANIFEST,
} from "./media-types.ts";
export type { ImageReference } from "./reference.ts";
export { parseReference } from "./reference.ts";
