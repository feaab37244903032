/**
 * The benchmark harness every package's `bench/*.bench.ts` uses: time a workload and its "floor" (the
 * same memory work done by a bare typed-array loop) in the same process, report ns/op and the ratio,
 * as a table or, with `--json`, one JSON object per line. Warm-up runs first; the median of several
 * timed runs is reported. Benchmarks may read the clock; the model never does.
 */

/** One benchmark's result. */
export interface BenchResult {
  /** Benchmark name, e.g. `folio_get_put`. */
  readonly name: string;
  /** Nanoseconds per operation of the workload (or milliseconds, when `unit` says so). */
  readonly nsPerOp: number;
  /** The same for the bare typed-array floor, or null when there is none. */
  readonly floorNsPerOp: number | null;
  /** `nsPerOp / floorNsPerOp`, or null. */
  readonly ratio: number | null;
  /** Extra figures (e.g. `bytesPerPage`, `peakRssMiB`, `pfnsPerSecond`). */
  readonly [extra: string]: unknown;
}

/** Median of `reps` timings of `run()`, in nanoseconds per op (`ops` operations per run), after `warm` warm-up runs. */
export function timeNsPerOp(run: () => void, ops: number, reps = 5, warm = 2): number {
  for (let i = 0; i < warm; i++) run();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    run();
    t.push(Number(process.hrtime.bigint() - t0) / ops);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)]!;
}

/** Build a result from workload and floor timings. */
export function result(name: string, nsPerOp: number, floorNsPerOp: number | null, extra: Record<string, unknown> = {}): BenchResult {
  const r = (x: number): number => Math.round(x * 100) / 100;
  return { name, nsPerOp: r(nsPerOp), floorNsPerOp: floorNsPerOp === null ? null : r(floorNsPerOp), ratio: floorNsPerOp ? r(nsPerOp / floorNsPerOp) : null, ...extra };
}

/** True if `--filter NAME` was given and `name` does not contain it. */
export function skipped(name: string): boolean {
  const i = process.argv.indexOf('--filter');
  return i >= 0 && !name.includes(process.argv[i + 1] ?? '');
}

/** Print results: JSON lines with `--json`, else an aligned table. */
export function report(results: readonly BenchResult[]): void {
  if (process.argv.includes('--json')) {
    for (const r of results) console.log(JSON.stringify(r));
    return;
  }
  const rows = results.map((r) => {
    const extra = Object.entries(r)
      .filter(([k]) => !['name', 'nsPerOp', 'floorNsPerOp', 'ratio'].includes(k))
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return [r.name, String(r.nsPerOp), r.floorNsPerOp === null ? '-' : String(r.floorNsPerOp), r.ratio === null ? '-' : `${r.ratio}x`, extra];
  });
  const head = ['benchmark', 'ns/op', 'floor ns/op', 'ratio', 'extra'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 || i === 4 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}
