/**
 * The upgrade window (talos:`pkg/machinery/compatibility`): upgrading to 1.N needs a node at
 * >= 1.(N-2).0; a downgrade to 1.N only from a node < 1.(N+2).0. Longer jumps go through hops.
 */
import { compareVersions, parseTalosVersion, type TalosVersion } from "@talos-ext/talosctl";

/** Whether a node at `from` may go to `to` in one upgrade (or downgrade). */
export function withinWindow(from: TalosVersion, to: TalosVersion): boolean {
  if (from.major !== to.major) return false;
  const up = compareVersions(to, from) >= 0;
  if (up) return from.minor >= to.minor - 2;
  return from.minor < to.minor + 2;
}

/**
 * The versions a node at `from` goes through to reach `to`, using the versions available (the
 * target and any hop installers): each hop the highest available version within the window.
 * Returns undefined when no chain exists.
 */
export function hopChain(
  from: TalosVersion,
  to: TalosVersion,
  available: TalosVersion[],
): TalosVersion[] | undefined {
  if (withinWindow(from, to)) return [to];
  const up = compareVersions(to, from) > 0;
  if (!up) return undefined;
  const chain: TalosVersion[] = [];
  let at = from;
  for (let i = 0; i < 64; i++) {
    if (withinWindow(at, to)) return [...chain, to];
    const next = available
      .filter((v) => compareVersions(v, at) > 0 && compareVersions(v, to) < 0 && withinWindow(at, v))
      .sort(compareVersions)
      .at(-1);
    if (!next) return undefined;
    chain.push(next);
    at = next;
  }
  return undefined;
}

/**
 * The hops a user needs, spelled out by minor (`v1.13.x`) as the greedy chain of the window
 * itself: what to build installers for when `hopChain` finds none.
 */
export function requiredHops(from: TalosVersion, to: TalosVersion): string[] {
  const hops: string[] = [];
  if (from.major !== to.major) return [`${to.tag} (a major version change is not supported)`];
  let minor = from.minor;
  while (to.minor - minor > 2) {
    minor += 2;
    hops.push(`v${to.major}.${minor}.x`);
  }
  hops.push(to.tag);
  return hops;
}

/** Parses a tag or throws a plain Error (callers wrap it). */
export function mustParse(tag: string): TalosVersion {
  const v = parseTalosVersion(tag);
  if (!v) throw new Error(`not a Talos version: ${JSON.stringify(tag)}`);
  return v;
}
