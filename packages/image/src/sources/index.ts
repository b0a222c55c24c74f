/**
 * Sources by checksum, with a content-addressed cache (`<cacheDir>/sha256/<hex>`).
 *
 * A download goes to `<cacheDir>/tmp/*.part` while sha256 and sha512 are computed; only when
 * both match is it fsynced and renamed into place, so the cache holds verified files only.
 * Cached files are re-hashed (both digests) before use; a bad one is removed. Requests use
 * node:http/https (headers `Accept: *\/*`, `User-Agent: talos-ext/<version>`), follow up to
 * 10 redirects (never https -> http), honour HTTP(S)_PROXY / NO_PROXY through Node 24's
 * `Agent({ proxyEnv })`, always verify TLS, and retry 5xx/408/429, resets and idle timeouts
 * with exponential backoff.
 */
export { checkSha256, checkSha512, checkSpec } from "./checksums.ts";
export { cachePathFor, defaultCacheDir, fetchSource, fetchSources } from "./fetch.ts";
export { MAX_REDIRECTS, USER_AGENT } from "./http.ts";
export type { FetchedSource, SourceCacheOptions, SourceProgress, SourceSpec } from "./types.ts";
