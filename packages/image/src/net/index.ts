/**
 * The one download primitive of the package (plain URLs and registry blobs), its retry loop and
 * its streaming checksums. Faults are data; each caller maps them to its own codes.
 */
export {
  type ChecksumAlgorithm,
  ChecksumStream,
  type ChecksumStreamOptions,
  type Checksums,
} from "./checksum.ts";
export {
  type DownloadOptions,
  type DownloadProgress,
  type DownloadResult,
  type DownloadTarget,
  download,
  FILE_DEADLINE_MS,
  type TransferOptions,
  transferOptions,
} from "./download.ts";
export {
  type DownloadErrorMap,
  type DownloadFault,
  displayUrl,
  isRetryableFault,
  isRetryableStatus,
} from "./faults.ts";
export { MAX_REDIRECTS, type OpenedBody, type OpenUrlOptions, openUrl, USER_AGENT } from "./get.ts";
export { backoffMs, RetryableError, type RetryPolicy, retryAfterMs, withRetries } from "./retry.ts";
