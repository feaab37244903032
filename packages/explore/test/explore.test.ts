import { replayTrace, TraceReplayError } from '@mm/core';
import { describe, expect, it } from 'vitest';
import { explore, resolveExplorePlugin, SCENARIOS } from '../src/index.js';

const STRATEGIES = ['owner-ops', 'mainline'] as const;

describe.each(STRATEGIES)('exhaustive search, bound 2 (%s)', (strategy) => {
  it.each(SCENARIOS.map((s) => s.name))('%s with the fix on: the whole bounded space, no violation', (name) => {
    const r = explore(name, { strategy }, { strategy: 'exhaustive', bound: 2 });
    expect(r.counterexample).toBeNull();
    expect(r.exhausted).toBe(true);
    expect(r.completed).toBeGreaterThan(1); // more than one interleaving finishes
    expect(r.states).toBeGreaterThan(r.completed);
  });

  it('an injected RCU walker adds interleavings and still finds nothing with the fix on', () => {
    const a = explore('balloon-deflate', { strategy }, { bound: 2 });
    const b = explore('balloon-deflate', { strategy, walkers: 1 }, { bound: 2 });
    expect(b.counterexample).toBeNull();
    expect(b.interleavings).toBeGreaterThan(a.interleavings);
  });

  it('balloon-deflate without sticky page types: v6.17 migrate_folio_done miscounts the finalized page (see scenarios.test.ts)', () => {
    const r = explore('balloon-deflate', { strategy, fix: false, walkers: 1 }, { bound: 2, noCounterexample: true });
    expect(r.counterexample?.violation.key).toBe('§9 NR_ISOLATED');
  });

  it('tryget-final-put without folio_try_get: a walker resurrects a freed folio; the minimised trace replays to the same violation', () => {
    const r = explore('tryget-final-put', { strategy, fix: false }, { bound: 2 });
    const cx = r.counterexample!;
    expect(cx).not.toBeNull();
    // The put reaches 0 and frees the folio (to the pcp list); the walker's plain increment then
    // gives a free page a reference: §3.2. Three steps: testzero, __folio_put, the increment.
    expect(cx.violation).toMatchObject({ kind: 'bug', key: '§3.2 free refcount', task: 'rcu0' });
    expect(cx.schedule).toEqual([0, 0, 1]);
    expect(cx.schedule.length).toBeLessThanOrEqual(cx.found.length);
    const last = JSON.parse(cx.trace.at(-1)!) as { bug: string; task: string };
    expect(last).toMatchObject({ bug: '§3.2 free refcount', task: 'rcu0' });
    expect(cx.trace.slice(2).every((l) => 'task' in JSON.parse(l))).toBe(true);
    const rep = replayTrace(cx.trace, { resolvePlugin: resolveExplorePlugin });
    expect(rep.operations).toBe(cx.trace.length - 1);
    // The same schedule with the fix on: the walker's folio_try_get fails, no violation, so the
    // trace's "bug" line no longer matches.
    const fixed = cx.trace.map((l, i) => (i === 0 ? l.replace('"fix":false', '"fix":true') : l));
    expect(() => replayTrace(fixed, { resolvePlugin: resolveExplorePlugin })).toThrow(TraceReplayError);
  });
});

describe('random and PCT', () => {
  it('are reproducible from the seed and find the resurrection without folio_try_get', () => {
    for (const strategy of ['random', 'pct'] as const) {
      const a = explore('tryget-final-put', { fix: false }, { strategy, seed: 7, runs: 200 });
      const b = explore('tryget-final-put', { fix: false }, { strategy, seed: 7, runs: 200 });
      expect(a.counterexample).not.toBeNull();
      expect(b.interleavings).toBe(a.interleavings);
      expect(b.counterexample!.found).toEqual(a.counterexample!.found);
      expect(b.counterexample!.trace).toEqual(a.counterexample!.trace);
    }
  });

  it('run the requested number of executions without violation when the fix is on', () => {
    const r = explore('tryget-final-put', { walkers: 1 }, { strategy: 'pct', seed: 3, runs: 100, bound: 3 });
    expect(r.interleavings).toBe(100);
    expect(r.counterexample).toBeNull();
  });
});

describe('partitioned search (workers)', () => {
  it('the shares of the first choice add up to at least the single search (each share prunes alone)', () => {
    const whole = explore('tryget-final-put', {}, { bound: 2 });
    const parts = [0, 1, 2].map((index) => explore('tryget-final-put', {}, { bound: 2, partition: { index, count: 3 } }));
    expect(parts.every((p) => p.counterexample === null)).toBe(true);
    expect(parts.reduce((s, p) => s + p.completed, 0)).toBeGreaterThanOrEqual(whole.completed);
  });
});

describe('bad input', () => {
  it('names the known scenarios and rejects a fix switch where there is none', () => {
    expect(() => explore('nope')).toThrow(/unknown scenario "nope".*balloon-deflate/);
    expect(() => explore('migrate-speculative', { fix: false })).toThrow(/no fix switch/);
    expect(() => explore('balloon-deflate', {}, { bound: -1 })).toThrow(/bound/);
  });
});
