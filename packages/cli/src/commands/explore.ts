import { startStopwatch, type Stopwatch } from '../stopwatch.js';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EXPLORE_STRATEGIES, SCENARIOS, explore, findScenario, type ExploreResult, type ExploreStats, type ExploreStrategy } from '@mm/explore';
import { CliError } from '../cli-error.js';
import { jsonText } from '../format.js';
import type { CliIo } from '../io.js';

/** Options of `mmsim explore`. */
export interface ExploreFlags {
  /** exhaustive | random | pct. */
  readonly strategy?: string;
  /** Preemption bound (exhaustive) or depth (PCT). */
  readonly bound?: number;
  /** Seed (random, PCT). */
  readonly seed?: number;
  /** Executions (random, PCT) or a cap (exhaustive). */
  readonly runs?: number;
  /** Worker threads (exhaustive: the first scheduling choices are shared out). */
  readonly workers?: number;
  /** The fix off (`--no-fix`). */
  readonly fix?: boolean;
  /** RCU walkers to inject. */
  readonly walkers?: number;
  /** The scenario's variant (e.g. gmem-conversion's `deferred` or `synchronous`). */
  readonly variant?: string;
  /** `__folio_put` strategy. */
  readonly freeStrategy?: 'owner-ops' | 'mainline';
  /** Write the counterexample trace here. */
  readonly out?: string;
  /** Print JSON. */
  readonly json?: boolean;
}

function progressLine(io: CliIo, clock: Stopwatch): (s: ExploreStats) => void {
  return (s) => {
    if (io.stderr.isTTY !== true) return;
    const secs = Math.max(1e-3, clock.seconds());
    io.stderr.write(`\rexplore: ${s.interleavings} interleavings, ${s.states} states, ${Math.round(s.interleavings / secs)}/s `);
  };
}

/** The text summary of an exploration. */
export function exploreSummaryText(r: ExploreResult, seconds: number): string {
  const p = r.params;
  const head =
    `${r.scenario}${p.variant === undefined ? '' : ` ${p.variant}`} (fix ${p.fix === false ? 'off' : 'on'}, ${p.walkers ?? 0} rcu walker(s), ${p.strategy ?? 'owner-ops'}): ` +
    `${r.strategy}${r.bound === null ? '' : ` bound ${r.bound}`}${r.seed === null ? '' : ` seed ${r.seed}`}\n` +
    `interleavings ${r.interleavings} (completed ${r.completed}, pruned ${r.pruned}, cut off ${r.stepLimited}), states ${r.states}, ` +
    `${Math.round(r.interleavings / Math.max(seconds, 1e-3))}/s, ${seconds.toFixed(2)} s\n`;
  const cx = r.counterexample;
  if (cx === null) return `${head}${r.exhausted ? 'no violation: the whole bounded space was explored\n' : 'no violation found\n'}`;
  return `${head}VIOLATION (${cx.violation.kind} ${cx.violation.key}) in task ${cx.violation.task}: ${cx.violation.message}\n` +
    `counterexample: ${cx.schedule.length} steps (found ${cx.found.length}), replay with mmsim replay:\n${cx.trace.join('\n')}\n`;
}

/**
 * `mmsim explore <scenario>`: explore a race scenario's interleavings (see `@mm/explore`) and print
 * a summary; a violation is printed as a minimised trace that `mmsim replay` replays to it (and
 * written to `--out`). Exit status 0 either way: finding a violation is the command's job
 * (`--json` has `counterexample`).
 */
export async function exploreCommand(scenario: string, flags: ExploreFlags, io: CliIo): Promise<void> {
  if (!SCENARIOS.some((s) => s.name === scenario)) throw new CliError(`unknown scenario "${scenario}" (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  const strategy = (flags.strategy ?? 'exhaustive') as ExploreStrategy;
  if (!EXPLORE_STRATEGIES.includes(strategy)) throw new CliError(`--strategy ${flags.strategy}: one of ${EXPLORE_STRATEGIES.join(', ')}`);
  const workers = flags.workers ?? 1;
  if (workers > 1 && strategy !== 'exhaustive') throw new CliError('--workers applies to --strategy exhaustive only');
  const variants = findScenario(scenario).variants;
  if (flags.variant !== undefined && !variants.includes(flags.variant)) {
    throw new CliError(`--variant ${flags.variant}: ${variants.length === 0 ? `${scenario} has no variants` : `one of ${variants.join(', ')}`}`);
  }
  const params = {
    fix: flags.fix !== false,
    walkers: flags.walkers ?? 0,
    strategy: flags.freeStrategy ?? 'owner-ops',
    ...(flags.variant === undefined ? {} : { variant: flags.variant }),
  } as const;
  const options = {
    strategy,
    ...(flags.bound === undefined ? {} : { bound: flags.bound }),
    ...(flags.seed === undefined ? {} : { seed: flags.seed }),
    ...(flags.runs === undefined ? {} : { runs: flags.runs }),
  };
  const clock = startStopwatch();
  let r: ExploreResult;
  if (workers > 1) {
    const { exploreInWorkers } = await import('./explore-workers.js');
    r = await exploreInWorkers(scenario, params, options, workers);
  } else r = explore(scenario, params, { ...options, onProgress: progressLine(io, clock) });
  if (io.stderr.isTTY === true) io.stderr.write('\n');
  const seconds = clock.seconds();
  if (flags.out !== undefined && r.counterexample !== null) {
    await writeFile(resolve(io.cwd ?? process.cwd(), flags.out), `${r.counterexample.trace.join('\n')}\n`);
  }
  io.stdout.write(flags.json ? jsonText({ ...r, seconds, workers }) : exploreSummaryText(r, seconds));
}
