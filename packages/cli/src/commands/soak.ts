import { startStopwatch } from '../stopwatch.js';
import { SOAK_PLUGINS, soak, type SoakResult } from '@mm/explore';
import { CliError } from '../cli-error.js';
import { jsonText } from '../format.js';
import type { CliIo } from '../io.js';

/** Options of `mmsim soak`. */
export interface SoakFlags {
  /** Operations. */
  readonly ops: number;
  /** Seed. */
  readonly seed?: number;
  /** Plugins to drive (default all the soak knows). */
  readonly plugins?: readonly string[];
  /** Machine memory. */
  readonly memory?: string;
  /** Check the invariants every N operations (default 1: after each). */
  readonly checkEvery?: number;
  /** Print JSON. */
  readonly json?: boolean;
}

function counts(r: Record<string, number>): string {
  const e = Object.entries(r).sort(([a], [b]) => a.localeCompare(b));
  return e.length === 0 ? 'none' : e.map(([k, v]) => `${k} ${v}`).join(', ');
}

/** The text report of a soak. */
export function soakText(r: SoakResult, seed: number, seconds: number): string {
  return (
    `soak seed ${seed}: ${r.operations} operations in ${seconds.toFixed(1)} s, ${r.checks} invariant checks\n` +
    `operations: ${counts(r.byOp)}\n` +
    `errors returned by design: ${counts(r.errors)}\n` +
    `violations: ${r.violations}${r.firstViolation === null ? '' : ` (op ${r.firstViolation.op}, ${r.firstViolation.name}: ${r.firstViolation.message})`}\n`
  );
}

/**
 * `mmsim soak --ops N --seed S [--plugins …]`: seeded random operations across the plugins with the
 * invariants on (see `@mm/explore` `soak`). Exit status 0 if there was no violation; a violation is
 * reported on stdout and makes the command fail with a one-line error.
 */
export async function soakCommand(flags: SoakFlags, io: CliIo): Promise<void> {
  const plugins = flags.plugins ?? SOAK_PLUGINS;
  for (const p of plugins) if (!(SOAK_PLUGINS as readonly string[]).includes(p)) throw new CliError(`--plugins ${p}: the soak drives ${SOAK_PLUGINS.join(', ')}`);
  const seed = flags.seed ?? 1;
  const clock = startStopwatch();
  const tty = io.stderr.isTTY === true;
  const r = soak({
    ops: flags.ops,
    seed,
    plugins,
    ...(flags.memory === undefined ? {} : { memory: flags.memory }),
    ...(flags.checkEvery === undefined ? {} : { checkEvery: flags.checkEvery }),
    ...(tty ? { onProgress: (n: number) => io.stderr.write(`\rsoak: ${n}/${flags.ops} operations `) } : {}),
  });
  if (tty) io.stderr.write('\n');
  const seconds = clock.seconds();
  io.stdout.write(flags.json ? jsonText({ seed, ...r, seconds }) : soakText(r, seed, seconds));
  if (r.violations > 0) throw new CliError(`soak: violation at operation ${r.firstViolation!.op}: ${r.firstViolation!.message}`);
}
