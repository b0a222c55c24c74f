export { checkSha256, checkSha512, checkSpec } from "./checksums.ts";
export { cachePathFor, defaultCacheDir, fetchSource, fetchSources } from "./fetch.ts";
export { MAX_REDIRECTS, USER_AGENT } from "./http.ts";
export type { FetchedSource, SourceCacheOptions, SourceProgress, SourceSpec } from "./types.ts";
