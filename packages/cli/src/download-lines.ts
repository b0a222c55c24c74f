/**
 * Progress lines for downloads, shared by `build` and `update`: a slow download says it is alive
 * at most once per interval per URL, so a log shows progress without a line per chunk.
 */

/** One progress report, as `build` and `update` both receive it. */
export interface DownloadTick {
  /** The URL as shown (no credentials, no query). */
  url: string;
  /** Bytes received so far. */
  bytes: number;
  /** The size the server announced, when it did. */
  total?: number;
  /** Since the download started, every attempt included. */
  elapsedMs: number;
}

/** Returns a function that turns ticks into a line, or undefined when the URL spoke recently. */
export function throttledDownloadLines(everyMs: number): (t: DownloadTick) => string | undefined {
  const shown = new Map<string, number>();
  return (t) => {
    const last = shown.get(t.url);
    if (last !== undefined && t.elapsedMs - last < everyMs) return undefined;
    shown.set(t.url, t.elapsedMs);
    const size = t.total !== undefined ? ` of ${t.total}` : "";
    return `${t.url}: ${t.bytes}${size} bytes after ${(t.elapsedMs / 1000).toFixed(1)}s`;
  };
}
