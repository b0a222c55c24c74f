/**
 * The package's one retry loop: exponential backoff with jitter, `Retry-After`, an abort signal
 * (which is how an overall deadline stops a loop that is waiting between attempts).
 *
 * Only a `RetryableError` is retried; anything else is thrown at once. When the budget is spent
 * the caller sees `final`, a coded error, never the retry wrapper.
 */
import { isTalosExtError, type TalosExtError } from "@talos-ext/spec";

/** How often and how patiently an operation is retried. */
export interface RetryPolicy {
  /** Extra attempts after the first (0: no retry). */
  retries: number;
  /** First backoff step; doubles per attempt, with jitter. */
  baseDelayMs: number;
  /** Ceiling of one backoff step (default 30000). */
  maxDelayMs?: number;
  /** Aborting stops the loop: a pending wait ends and the signal's reason is thrown. */
  signal?: AbortSignal | undefined;
  /** Called before each wait: the attempt about to start (1 for the first retry), why, and how long. */
  onRetry?: ((attempt: number, reason: string, delayMs: number) => void) | undefined;
}

/** A failure worth retrying (5xx, 429, reset, idle timeout, a cut body). */
export class RetryableError extends Error {
  /** Short text for retry events (`500 on GET https://host/path`). */
  readonly reason: string;
  /** The coded error the caller sees when no retry is left. */
  readonly final: TalosExtError;
  /** The server's `Retry-After` in milliseconds, which replaces the backoff step. */
  readonly retryAfterMs: number | undefined;
  /**
   * @param reason short text for retry events (`500 on GET https://host/path`)
   * @param final the coded error the caller sees when no retry is left
   * @param retryAfterMs the server's `Retry-After`, which replaces the backoff step
   */
  constructor(reason: string, final: TalosExtError, retryAfterMs?: number) {
    super(reason, { cause: final });
    this.reason = reason;
    this.final = final;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Equal-jitter exponential backoff: between half and all of `base * 2^attempt`, capped. */
export function backoffMs(attempt: number, baseMs: number, capMs = 30_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** `Retry-After` as milliseconds (seconds or an HTTP date), capped. */
export function retryAfterMs(value: string | undefined, capMs = 60_000): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), capMs) : undefined;
}

/** The reason an aborted signal carries, as something throwable. */
function abortReason(signal: AbortSignal, fallback: TalosExtError): Error {
  const r: unknown = signal.reason;
  return isTalosExtError(r) || r instanceof Error ? r : fallback;
}

/** Waits `ms`, or less when `signal` aborts (then rejects with its reason). */
export function sleep(ms: number, signal?: AbortSignal, fallback?: TalosExtError): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(fallback ? abortReason(signal, fallback) : signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(fallback ? abortReason(signal!, fallback) : signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `fn` until it succeeds, throws something that is not a RetryableError, or the policy's
 * budget is spent (then the last `final` is thrown). `fn` gets the attempt number (0 first).
 */
export async function withRetries<T>(policy: RetryPolicy, fn: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!(e instanceof RetryableError)) throw e;
      if (attempt >= policy.retries || policy.signal?.aborted) {
        throw policy.signal?.aborted ? abortReason(policy.signal, e.final) : e.final;
      }
      const delay = e.retryAfterMs ?? backoffMs(attempt, policy.baseDelayMs, policy.maxDelayMs);
      policy.onRetry?.(attempt + 1, e.reason, delay);
      await sleep(delay, policy.signal, e.final);
    }
  }
}
