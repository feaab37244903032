import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { counterexampleTrace, explore, findScenario, minimiseSchedule, type ExploreOptions, type ExploreResult, type ScenarioParams } from '@mm/explore';

/**
 * `mmsim explore --workers N`: the exhaustive search shared out over worker threads. The search is
 * split at the first scheduling point into one subtree per task that runs first, each with its own
 * visited states (see `exhaustiveSearch`); worker `i` searches the subtrees `j` with `j % N === i`
 * (with only a few tasks, at most that many workers have work) and reports each subtree's counts and
 * visited states. The merge takes the subtrees in task order up to and including the first one that
 * stopped at a violation (later ones are discarded, as the single search would not have run them),
 * sums their counts and unites their states: the totals are the same as with one worker. The
 * violation is minimised here.
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

/**
 * A resolve hook that adds the workspace's `@mm/source` export condition: a worker thread does not
 * take `--conditions` from its `execArgv`, so the thread registers this hook itself.
 */
const SOURCE_CONDITION_HOOK =
  'data:text/javascript,' +
  encodeURIComponent("export function resolve(s, c, next) { return next(s, { ...c, conditions: [...c.conditions, '@mm/source'] }); }");

/**
 * A worker running `explore-worker.ts` from source (tests, `tsx`): register the `@mm/source`
 * condition and tsx's loader in the thread, so the workspace packages resolve to their sources and
 * compile with the repository's test tsconfig (decorators), as `pnpm bench` does.
 */
function tsWorker(self: URL, job: Job): Worker {
  // `require.resolve` finds tsx's CommonJS entry; its ES module twin sits next to it.
  const tsxApi = pathToFileURL(createRequire(self).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const entry = new URL('./explore-worker.ts', self).href;
  const src =
    `import('node:module').then((mod) => { mod.register(${JSON.stringify(SOURCE_CONDITION_HOOK)}); return import(${JSON.stringify(tsxApi)}); })` +
    `.then((t) => { t.register(); return import(${JSON.stringify(entry)}); });`;
  const env = { ...process.env, TSX_TSCONFIG_PATH: process.env['TSX_TSCONFIG_PATH'] ?? fileURLToPath(new URL('../../../../tsconfig.test.json', self)) };
  return new Worker(src, { eval: true, workerData: job, env });
}

export async function exploreInWorkers(scenario: string, params: ScenarioParams, options: ExploreOptions, count: number): Promise<ExploreResult> {
  const self = new URL(import.meta.url);
  const ts = self.pathname.endsWith('.ts');
  const jobs = Array.from({ length: count }, (_, index) => ({ scenario, params, options: { ...options, noCounterexample: true, collectSubtrees: true }, index, count }) satisfies Job);
  const results = await Promise.all(
    jobs.map(
      (job) =>
        new Promise<ExploreResult>((res, rej) => {
          const w = ts ? tsWorker(self, job) : new Worker(new URL('./explore-worker.js', self), { workerData: job });
          w.once('message', (r: ExploreResult) => res(r));
          w.once('error', rej);
        }),
    ),
  );
  return mergeWorkerResults(results, options.maxSteps ?? 400);
}

/** Merge the workers' results (each with `subtrees`) into the result one search would give; minimise the violation. */
export function mergeWorkerResults(results: readonly ExploreResult[], maxSteps: number): ExploreResult {
  const all = results.flatMap((r) => (r.subtrees ?? []).map((s) => ({ s, r }))).sort((a, b) => a.s.first - b.s.first);
  const used: typeof all = [];
  for (const x of all) {
    used.push(x);
    if (x.s.violation) break;
  }
  const sum = (k: 'interleavings' | 'completed' | 'pruned' | 'stepLimited' | 'steps'): number => used.reduce((n, x) => n + x.s[k], 0);
  const states = new Set(used.flatMap((x) => x.s.keys)).size;
  const last = used.at(-1);
  const bad = last !== undefined && last.s.violation ? last.r : undefined;
  let counterexample = null;
  const first = results[0]!;
  if (bad !== undefined && bad.counterexample !== null) {
    const target = { scenario: findScenario(first.scenario), params: first.params };
    const schedule = minimiseSchedule(target, bad.counterexample.found, bad.counterexample.violation, maxSteps);
    counterexample = { ...bad.counterexample, schedule, trace: counterexampleTrace(target, schedule) };
  }
  const { subtrees: _dropped, ...base } = first;
  return {
    ...base,
    interleavings: sum('interleavings'),
    completed: sum('completed'),
    pruned: sum('pruned'),
    stepLimited: sum('stepLimited'),
    states,
    steps: sum('steps'),
    exhausted: bad === undefined && results.every((r) => r.exhausted),
    counterexample,
  };
}

/** The worker's side (run when this module is a worker's entry: see `explore-worker.ts`). */
export function runExploreJob(job: Job): ExploreResult {
  return explore(job.scenario, job.params, { ...job.options, partition: { index: job.index, count: job.count } });
}
