/**
 * Wall-clock time for the CLI's progress lines and rates (interleavings per second, soak duration)
 * and nothing else: no reading of it is ever passed to a machine, so every run stays a function of
 * its seed.
 */
export interface Stopwatch {
  /** Seconds since the stopwatch started. */
  seconds(): number;
}

/** Start a stopwatch. */
export function startStopwatch(): Stopwatch {
  const t0 = process.hrtime.bigint();
  return { seconds: () => Number(process.hrtime.bigint() - t0) / 1e9 };
}
