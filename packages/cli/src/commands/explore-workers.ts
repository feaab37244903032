import { Worker } from 'node:worker_threads';
import { counterexampleTrace, explore, findScenario, minimiseSchedule, type ExploreOptions, type ExploreResult, type ScenarioParams } from '@mm/explore';

/**
 * `mmsim explore --workers N`: the exhaustive search shared out over worker threads. Worker `i`
 * searches the subtrees of the first scheduling point's choices `j` with `j % N === i` (with only a
 * few tasks, at most that many workers have work); each keeps its own visited-state set, so states
 * are summed over workers (a state two workers reach counts twice). The first violation reported is
 * minimised here.
 *
 * @module
 */

interface Job {
  readonly scenario: string;
  readonly params: ScenarioParams;
  readonly options: ExploreOptions;
  readonly index: number;
  readonly count: number;
}

/** Run the search in `count` workers and merge their results. */
export async function exploreInWorkers(scenario: string, params: ScenarioParams, options: ExploreOptions, count: number): Promise<ExploreResult> {
  const self = new URL(import.meta.url);
  const ts = self.pathname.endsWith('.ts');
  const jobs = Array.from({ length: count }, (_, index) => ({ scenario, params, options: { ...options, noCounterexample: true }, index, count }) satisfies Job);
  const results = await Promise.all(
    jobs.map(
      (job) =>
        new Promise<ExploreResult>((res, rej) => {
          const w = new Worker(new URL(`./explore-worker.${ts ? 'ts' : 'js'}`, self), { workerData: job, ...(ts ? { execArgv: ['--import', 'tsx'] } : {}) });
          w.once('message', (r: ExploreResult) => res(r));
          w.once('error', rej);
        }),
    ),
  );
  const sum = (k: 'interleavings' | 'completed' | 'pruned' | 'stepLimited' | 'states' | 'steps'): number => results.reduce((s, r) => s + r[k], 0);
  const bad = results.find((r) => r.counterexample !== null);
  let counterexample = null;
  if (bad !== undefined && bad.counterexample !== null) {
    const target = { scenario: findScenario(scenario), params };
    const schedule = minimiseSchedule(target, bad.counterexample.found, bad.counterexample.violation, options.maxSteps ?? 400);
    counterexample = { ...bad.counterexample, schedule, trace: counterexampleTrace(target, schedule) };
  }
  return {
    ...results[0]!,
    interleavings: sum('interleavings'),
    completed: sum('completed'),
    pruned: sum('pruned'),
    stepLimited: sum('stepLimited'),
    states: sum('states'),
    steps: sum('steps'),
    exhausted: results.every((r) => r.exhausted),
    counterexample,
  };
}

/** The worker's side (run when this module is a worker's entry: see `explore-worker.ts`). */
export function runExploreJob(job: Job): ExploreResult {
  return explore(job.scenario, job.params, { ...job.options, partition: { index: job.index, count: job.count } });
}
