/**
 * Byte-faithful UTF-8 text. Go strings are bytes: bldr's templates copy invalid UTF-8 through
 * unchanged (a `*.tmpl` lands in `/pkg` byte for byte), while its YAML decoder rejects it. A JS
 * string cannot hold raw bytes, and `TextDecoder` silently turns them into U+FFFD, losing both
 * behaviours. So input files are decoded with each byte of an invalid sequence kept as a lone
 * surrogate U+DC80..U+DCFF (the "surrogateescape" convention); `encodeUtf8Faithful` turns them
 * back into the original bytes, and `decodeYaml` reports them as invalid UTF-8 where they sit.
 */

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** First code of the escape range: byte `b` (0x80..0xff) is kept as U+DC00 + b. */
const ESCAPE_BASE = 0xdc00;

/** Decodes UTF-8, keeping each byte of an invalid sequence as a lone surrogate U+DC80..U+DCFF. */
export function decodeUtf8Faithful(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    return decodeSlow(bytes);
  }
}

/** Length of the valid UTF-8 sequence at `i`, or 0 when the byte there starts none. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  const cont = (k: number) => i + k < b.length && (b[i + k]! & 0xc0) === 0x80;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const c1 = b[i + 1]!;
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 >= 0xa0) return 0; // UTF-16 surrogate encoded in UTF-8
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const c1 = b[i + 1]!;
    if (c === 0xf0 && c1 < 0x90) return 0; // overlong
    if (c === 0xf4 && c1 >= 0x90) return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

function decodeSlow(bytes: Uint8Array): string {
  const parts: string[] = [];
  let start = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = sequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    if (i > start) parts.push(strict.decode(bytes.subarray(start, i)));
    parts.push(String.fromCharCode(ESCAPE_BASE + bytes[i]!));
    i++;
    start = i;
  }
  if (start < bytes.length) parts.push(strict.decode(bytes.subarray(start)));
  return parts.join("");
}

/** Encodes text as UTF-8, turning the escapes made by {@link decodeUtf8Faithful} back into their bytes. */
export function encodeUtf8Faithful(text: string): Uint8Array {
  if (text.isWellFormed()) return Buffer.from(text, "utf8");
  const chunks: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      continue;
    }
    if (c < 0xdc80 || c > 0xdcff) continue;
    // A lone low surrogate in the escape range: the byte it stands for.
    if (i > start) chunks.push(Buffer.from(text.slice(start, i), "utf8"));
    chunks.push(Buffer.of(c - ESCAPE_BASE));
    start = i + 1;
  }
  if (start < text.length) chunks.push(Buffer.from(text.slice(start), "utf8"));
  return Buffer.concat(chunks);
}

/** Whether `text` holds bytes that were not valid UTF-8 (escapes made by {@link decodeUtf8Faithful}). */
export function hasInvalidUtf8(text: string): boolean {
  return !text.isWellFormed();
}
