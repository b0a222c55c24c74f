/**
 * Fixture archives for tests, built on the project's tar writer (`tarHeader`, `paxRecord`): ustar
 * headers, optional pax records and GNU long names, lying sizes, so readers can be checked against
 * archives whose every byte the test controls.
 */
import { paddingSize, paxRecord, type TarHeaderFields, tarHeader } from "../../src/tar/write.ts";

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

/** One header block (checksum computed), through the project's tar writer. */
export function header(spec: {
  name: string;
  type: string;
  mode: number;
  size: number;
  linkname?: string;
  gnu?: boolean;
  prefix?: string;
}): Uint8Array {
  const fields: TarHeaderFields = { name: spec.name, typeflag: spec.type, mode: spec.mode, size: spec.size };
  if (spec.linkname !== undefined) fields.linkname = spec.linkname;
  if (spec.gnu) fields.gnu = true;
  if (spec.prefix !== undefined) fields.prefix = spec.prefix;
  return tarHeader(fields);
}

function padded(data: Uint8Array): Uint8Array[] {
  const pad = paddingSize(data.length);
  return pad ? [data, new Uint8Array(pad)] : [data];
}

/** pax records in the order given. */
export function paxRecords(records: Record<string, string>): Uint8Array {
  return Buffer.concat(Object.entries(records).map(([k, v]) => paxRecord(k, v)));
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
