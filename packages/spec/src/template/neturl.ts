/**
 * A simplified port of Go's net/url (Parse and URL.String) for sprig's `urlParse` and `urlJoin`.
 */
import { decodeUtf8Faithful } from "../utf8.ts";
import { FuncError } from "./funcs.ts";
import { quote, utf8 } from "./strconv.ts";

function unescapePath(s: string): string {
  if (!/%/.test(s)) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "%") {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(h)) throw new FuncError(`invalid URL escape "${s.slice(i, i + 3)}"`);
      bytes.push(Number.parseInt(h, 16));
      i += 2;
    } else for (const b of utf8(s[i]!)) bytes.push(b);
  }
  return decodeUtf8Faithful(Buffer.from(bytes));
}

/** A parsed URL, with Go's field meanings (`path` unescaped, `rawQuery` as written). */
export interface ParsedURL {
  scheme: string;
  opaque: string;
  userinfo: string;
  host: string;
  path: string;
  rawQuery: string;
  fragment: string;
}

/** url.Parse. */
export function parseURL(raw: string): ParsedURL {
  const u: ParsedURL = {
    scheme: "",
    opaque: "",
    userinfo: "",
    host: "",
    path: "",
    rawQuery: "",
    fragment: "",
  };
  let rest = raw;
  const hashAt = rest.indexOf("#");
  if (hashAt >= 0) {
    u.fragment = unescapePath(rest.slice(hashAt + 1));
    rest = rest.slice(0, hashAt);
  }
  if (/[\x00-\x1f\x7f]/.test(rest))
    throw new FuncError(`parse ${quote(raw)}: net/url: invalid control character in URL`);
  const sm = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(rest);
  if (sm) {
    u.scheme = sm[1]!.toLowerCase();
    rest = rest.slice(sm[0].length);
  } else if (rest.startsWith(":")) throw new FuncError(`parse ${quote(raw)}: missing protocol scheme`);
  const q = rest.indexOf("?");
  if (q >= 0) {
    u.rawQuery = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (!rest.startsWith("/") && u.scheme !== "") {
    u.opaque = rest;
    return u;
  }
  if (rest.startsWith("//") && (u.scheme !== "" || !rest.startsWith("///"))) {
    const authEnd = rest.indexOf("/", 2);
    const authority = authEnd < 0 ? rest.slice(2) : rest.slice(2, authEnd);
    rest = authEnd < 0 ? "" : rest.slice(authEnd);
    const at = authority.lastIndexOf("@");
    if (at >= 0) {
      u.userinfo = authority.slice(0, at);
      u.host = authority.slice(at + 1);
    } else u.host = authority;
  }
  u.path = unescapePath(rest);
  return u;
}

function escapePath(p: string): string {
  let out = "";
  for (const b of utf8(p)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c)) out += c;
    else out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** URL.String. */
export function urlString(u: ParsedURL): string {
  let out = "";
  if (u.scheme !== "") out += `${u.scheme}:`;
  if (u.opaque !== "") out += u.opaque;
  else {
    if (u.scheme !== "" || u.host !== "" || u.userinfo !== "") {
      if (u.host !== "" || u.path !== "" || u.userinfo !== "") out += "//";
      if (u.userinfo !== "") out += `${u.userinfo}@`;
      out += u.host;
    }
    const p = escapePath(u.path);
    if (p !== "" && p[0] !== "/" && u.host !== "") out += "/";
    out += p;
  }
  if (u.rawQuery !== "") out += `?${u.rawQuery}`;
  if (u.fragment !== "") out += `#${escapePath(u.fragment)}`;
  return out;
}
