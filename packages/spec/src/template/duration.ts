/** Go's time.Duration: String and ParseDuration, for sprig's `duration`, `durationRound` and `ago`. */
import { FuncError } from "./funcs.ts";
import { quote } from "./strconv.ts";

const NS = {
  ns: 1n,
  us: 1000n,
  µs: 1000n,
  μs: 1000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** time.Duration.String. */
export function durationString(d: bigint): string {
  if (d === 0n) return "0s";
  const neg = d < 0n;
  let u = neg ? -d : d;
  let out: string;
  if (u < 1_000_000_000n) {
    const [unit, scale] = u < 1000n ? ["ns", 1n] : u < 1_000_000n ? ["µs", 1000n] : ["ms", 1_000_000n];
    out = fracString(u, scale as bigint) + unit;
  } else {
    const h = u / 3_600_000_000_000n;
    u -= h * 3_600_000_000_000n;
    const m = u / 60_000_000_000n;
    u -= m * 60_000_000_000n;
    out = `${fracString(u, 1_000_000_000n)}s`;
    if (h > 0n) out = `${h}h${m}m${out}`;
    else if (m > 0n) out = `${m}m${out}`;
  }
  return neg ? `-${out}` : out;
}

function fracString(v: bigint, scale: bigint): string {
  const whole = v / scale;
  const frac = v % scale;
  if (frac === 0n) return whole.toString();
  const digits = scale.toString().length - 1;
  return `${whole}.${frac.toString().padStart(digits, "0").replace(/0+$/, "")}`;
}

/** time.ParseDuration. */
export function parseDuration(s0: string): bigint {
  let s = s0;
  let neg = false;
  if (s[0] === "-" || s[0] === "+") {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") throw new FuncError(`time: invalid duration ${quote(s0)}`);
  let totalNs = 0n;
  while (s !== "") {
    const m = /^([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)/.exec(s);
    if (!m || (m[1] === "" && (m[2] ?? "") === ""))
      throw new FuncError(`time: invalid duration ${quote(s0)}`);
    const unit = NS[m[3] as keyof typeof NS];
    const whole = BigInt(m[1] || "0");
    const frac = m[2] ?? "";
    let v = whole * unit;
    if (frac !== "") v += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    totalNs += v;
    s = s.slice(m[0].length);
  }
  if (totalNs > (1n << 63n) - 1n) throw new FuncError(`time: invalid duration ${quote(s0)}`);
  return neg ? -totalNs : totalNs;
}
