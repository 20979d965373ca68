/** Output format shared with the C baselines: op=<name> n=<count> ns_per_op=<float>. */
export function report(op: string, n: number, ns: bigint): void {
  console.log(`op=${op} n=${n} ns_per_op=${(Number(ns) / n).toFixed(1)}`);
}

/** The iteration count: the first argument, or a default. */
export function iterations(dflt: number): number {
  const arg = process.argv[2];
  return arg ? Number(arg) : dflt;
}
