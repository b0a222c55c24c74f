/**
 * A small tar writer for tests: ustar headers, optional pax records and GNU long names, so the
 * reader can be checked against archives whose every byte the test controls.
 */

export interface TarSpec {
  name: string;
  /** "0" file, "1" hardlink, "2" symlink, "3" char, "4" block, "5" dir, "6" fifo, or any flag. */
  type?: string;
  mode?: number;
  data?: Uint8Array | string;
  linkname?: string;
  /** pax records written in an `x` header before this entry. */
  pax?: Record<string, string>;
  /** Write the name through a GNU `L` long-name header. */
  gnuLongName?: boolean;
  /** Override the size field (e.g. to lie about it). */
  size?: number;
  /** Write the header with GNU magic instead of POSIX ustar. */
  gnu?: boolean;
}

const enc = new TextEncoder();

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

function put(block: Uint8Array, offset: number, width: number, text: string | Uint8Array) {
  const bytes = typeof text === "string" ? enc.encode(text) : text;
  block.set(bytes.subarray(0, width), offset);
}

export function header(spec: {
  name: string;
  type: string;
  mode: number;
  size: number;
  linkname?: string;
  gnu?: boolean;
  prefix?: string;
}): Uint8Array {
  const block = new Uint8Array(512);
  put(block, 0, 100, spec.name);
  put(block, 100, 8, octal(spec.mode, 8));
  put(block, 108, 8, octal(0, 8));
  put(block, 116, 8, octal(0, 8));
  put(block, 124, 12, octal(spec.size, 12));
  put(block, 136, 12, octal(0, 12));
  put(block, 156, 1, spec.type);
  put(block, 157, 100, spec.linkname ?? "");
  if (spec.gnu) put(block, 257, 8, "ustar  \0");
  else {
    put(block, 257, 6, "ustar\0");
    put(block, 263, 2, "00");
  }
  if (spec.prefix) put(block, 345, 155, spec.prefix);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  put(block, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

function padded(data: Uint8Array): Uint8Array[] {
  const pad = (512 - (data.length % 512)) % 512;
  return pad ? [data, new Uint8Array(pad)] : [data];
}

export function paxRecords(records: Record<string, string>): Uint8Array {
  let text = "";
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = enc.encode(body).length + 1;
    while (String(len).length + enc.encode(body).length !== len) len++;
    text += `${len}${body}`;
  }
  return enc.encode(text);
}

/** An uncompressed tar of `specs`, with the two-zero-block trailer unless `trailer` is false. */
export function writeTar(specs: TarSpec[], options: { trailer?: boolean } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const s of specs) {
    const data = typeof s.data === "string" ? enc.encode(s.data) : (s.data ?? new Uint8Array(0));
    const type = s.type ?? "0";
    if (s.pax) {
      const records = paxRecords(s.pax);
      parts.push(
        header({ name: "PaxHeader", type: "x", mode: 0o644, size: records.length }),
        ...padded(records),
      );
    }
    let name = s.name;
    if (s.gnuLongName) {
      const long = enc.encode(`${s.name}\0`);
      parts.push(
        header({ name: "././@LongLink", type: "L", mode: 0, size: long.length, gnu: true }),
        ...padded(long),
      );
      name = s.name.slice(0, 99);
    }
    const h: Parameters<typeof header>[0] = {
      name,
      type,
      mode: s.mode ?? (type === "5" ? 0o755 : 0o644),
      size: s.size ?? data.length,
    };
    if (s.linkname !== undefined) h.linkname = s.linkname;
    if (s.gnu || s.gnuLongName) h.gnu = true;
    parts.push(header(h));
    if (data.length > 0) parts.push(...padded(data));
  }
  if (options.trailer !== false) parts.push(new Uint8Array(1024));
  return Buffer.concat(parts);
}
