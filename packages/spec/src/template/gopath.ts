/**
 * Go's "path" package (slash-separated paths, purely lexical), as sprig's `base`, `dir`, `ext`,
 * `clean` and `isAbs` use it.
 */

/** path.Clean: lexical clean-up of a slash-separated path. */
export function pathClean(p: string): string {
  if (p === "") return ".";
  const rooted = p[0] === "/";
  const n = p.length;
  const out: string[] = [];
  let r = 0;
  let dotdot = 0;
  if (rooted) {
    out.push("/");
    r = 1;
    dotdot = 1;
  }
  while (r < n) {
    if (p[r] === "/") r++;
    else if (p[r] === "." && (r + 1 === n || p[r + 1] === "/")) r++;
    else if (p[r] === "." && p[r + 1] === "." && (r + 2 === n || p[r + 2] === "/")) {
      r += 2;
      if (out.length > dotdot) {
        out.pop();
        while (out.length > dotdot && out[out.length - 1] !== "/") out.pop();
        if (out.length > dotdot) out.pop();
      } else if (!rooted) {
        if (out.length > 0) out.push("/");
        out.push(".", ".");
        dotdot = out.length;
      }
    } else {
      if ((rooted && out.length !== 1) || (!rooted && out.length !== 0)) out.push("/");
      for (; r < n && p[r] !== "/"; r++) out.push(p[r]!);
    }
  }
  return out.length === 0 ? "." : out.join("");
}

/** path.Base: the last element; "." for "", "/" for only slashes. */
export function pathBase(p0: string): string {
  if (p0 === "") return ".";
  let p = p0;
  while (p.length > 0 && p[p.length - 1] === "/") p = p.slice(0, -1);
  const i = p.lastIndexOf("/");
  if (i >= 0) p = p.slice(i + 1);
  return p === "" ? "/" : p;
}

/** path.Dir: all but the last element, cleaned. */
export function pathDir(p: string): string {
  const i = p.lastIndexOf("/");
  return pathClean(p.slice(0, i + 1));
}

/** path.Ext: the suffix from the final dot of the last element, or "". */
export function pathExt(p: string): string {
  for (let i = p.length - 1; i >= 0 && p[i] !== "/"; i--) if (p[i] === ".") return p.slice(i);
  return "";
}
