import { PageMovableOpsIsolated, PageZsmalloc, VmBugError, page_has_movable_ops, replayTrace, TraceReplayError, type Folio, type Machine, type Pfn } from '@mm/core';
import { GMEM_PRIVATE, GuestMemfd, folioAt } from '@mm/guest-memfd';
import { hugetlbOf } from '@mm/hugetlb';
import { zsmallocState } from '@mm/zsmalloc';
import { describe, expect, it } from 'vitest';
import { bootScenario, explore, findScenario, resolveExplorePlugin, type ExploreResult, type ScenarioParams } from '../src/index.js';

const STRATEGIES = ['owner-ops', 'mainline'] as const;

/**
 * The race scenarios (b)–(d) of issue #10 and the fix-off violation of (a). Counts are those of the
 * exhaustive search at preemption bound 2 with state hashing (`explore`'s defaults); they are the
 * same under both `__folio_put` strategies, which give identical observable results.
 */

/** Every step of `schedule` (task indices) on a freshly set-up scenario with the full invariant checks; the labels. */
function runSchedule(name: string, params: ScenarioParams, schedule: readonly number[]): { m: Machine; labels: string[]; summary: unknown } {
  const { m, state } = bootScenario({ scenario: findScenario(name), params });
  const labels = schedule.map((t) => state.step(t));
  return { m, labels, summary: state.instance!.summary };
}

/** Run `schedule`, then the unfinished tasks round robin (a task whose step blocked lets the others run) until all are done. */
function finish(name: string, params: ScenarioParams, schedule: readonly number[]): { m: Machine; labels: string[]; summary: unknown } {
  const { m, state } = bootScenario({ scenario: findScenario(name), params });
  const labels = schedule.map((t) => state.step(t));
  for (let round = 0; !state.allDone && round < 100; round++) {
    for (let i = 0; i < state.nrTasks; i++) if (state.isEnabled(i)) labels.push(state.step(i));
  }
  expect(state.allDone).toBe(true);
  return { m, labels, summary: state.instance!.summary };
}

/** The fix-on result: the whole bounded space, no violation, with the expected counts. */
function expectExhausted(r: ExploreResult, counts: { interleavings: number; completed: number; states: number }): void {
  expect(r.counterexample).toBeNull();
  expect(r.exhausted).toBe(true);
  expect({ interleavings: r.interleavings, completed: r.completed, states: r.states }).toEqual(counts);
}

/** The fix-off result: a violation, minimised, whose trace replays to it (and not with the fix on). */
function expectReplayedViolation(r: ExploreResult, key: string, task: string, schedule: readonly number[]): void {
  const cx = r.counterexample!;
  expect(cx).not.toBeNull();
  expect(cx.violation).toMatchObject({ kind: 'bug', key, task });
  expect(cx.schedule).toEqual(schedule);
  expect(cx.schedule.length).toBeLessThanOrEqual(cx.found.length);
  expect(JSON.parse(cx.trace.at(-1)!)).toMatchObject({ bug: key, task });
  expect(cx.trace.length).toBe(schedule.length + 2); // header, exploreSetup, one line per step
  const rep = replayTrace(cx.trace, { resolvePlugin: resolveExplorePlugin });
  expect(rep.operations).toBe(cx.trace.length - 1);
  // The same schedule with the fix on (the scenario's parameter and, where the switch is a machine
  // option, the machine's) no longer ends in the violation, so the trace's last line does not replay.
  const fixed = cx.trace.map((l, i) => (i === 0 ? l.replace('"fix":false', '"fix":true').replace('"stickyPageTypes":false', '"stickyPageTypes":true') : l));
  expect(() => replayTrace(fixed, { resolvePlugin: resolveExplorePlugin })).toThrow(TraceReplayError);
}

describe.each(STRATEGIES)('zsmalloc-free-isolated (%s)', (strategy) => {
  it('sticky PageZsmalloc: every interleaving of bound 2 frees the zspage and the isolated page exactly once', () => {
    expectExhausted(explore('zsmalloc-free-isolated', { strategy }, { bound: 2 }), { interleavings: 41, completed: 11, states: 121 });
  });

  it('without sticky types: the zspage freed after isolation leaves a page the core takes for an LRU folio (NR_ISOLATED_FILE -1)', () => {
    // compaction: get, page_has_movable_ops, trylock, isolate+list_add; free: zs_free frees the zspage
    // (the page is unlocked again) and clears PageZsmalloc; compaction: the unmap step sees no
    // movable_ops and refcount 1 — "freed from under us" — and undoes NR_ISOLATED_* it never counted.
    const r = explore('zsmalloc-free-isolated', { strategy, fix: false }, { bound: 2 });
    expectReplayedViolation(r, '§9 NR_ISOLATED', 'compaction', [1, 1, 1, 1, 0, 1]);
  });

  it('the zspage freed while its page is isolated: PageZsmalloc stays, zs_page_migrate sees zspage NULL, the core frees the page', () => {
    const { m, summary } = runSchedule('zsmalloc-free-isolated', { strategy }, [1, 1, 1, 1, 0]);
    const { pages } = summary as { pages: number[] };
    const p = pages[1]! as Pfn;
    expect(zsmallocState(m).zspages.count).toBe(0); // __free_zspage ran: the page was not locked
    expect(m.memmap.refcount[p]).toBe(1); // only the isolation reference
    expect(m.memmap.private[p]).toBe(0); // zpdesc->zspage == NULL
    expect(PageZsmalloc(m, p)).toBe(true);
    expect(page_has_movable_ops(m, p)).toBe(true);
    expect(PageMovableOpsIsolated(m, p)).toBe(true);
    expect([m.memmap.refcount[pages[0]!], m.memmap.mapcount[pages[0]!]]).toEqual([0, -1]); // the other pages are free, type cleared
    const done = finish('zsmalloc-free-isolated', { strategy }, [1, 1, 1, 1, 0]);
    expect(done.labels.at(-1)).toBe('compaction: return 0'); // migrate_movable_ops_page succeeded trivially
    expect([done.m.memmap.refcount[p], done.m.memmap.mapcount[p]]).toEqual([0, -1]); // freed (to a pcp list), type cleared
  });

  it('zs_free while isolation holds the page lock: free_zspage defers, the kworker waits for the lock', () => {
    const { labels } = finish('zsmalloc-free-isolated', { strategy }, [1, 1, 1, 0, 0]);
    expect(labels.slice(3, 5)).toEqual(['zs_free (class->lock): obj_free, free_zspage', 'async_free_zspage: lock_zspage (blocked)']);
    expect(labels).toContain('async_free_zspage');
  });
});

describe.each(STRATEGIES)('hugetlb-isolation (%s)', (strategy) => {
  it('free_huge_folio never runs while the folio is isolated: the whole bounded space', () => {
    expectExhausted(explore('hugetlb-isolation', { strategy }, { bound: 2 }), { interleavings: 10, completed: 8, states: 25 });
  });

  it('the mapping goes away after isolation: migration finds refcount 1 ("freed under us") and the putback frees it to the pool', () => {
    const freed: { folio: number; owner: string }[] = [];
    const { m, state } = bootScenario({ scenario: findScenario('hugetlb-isolation'), params: { strategy } });
    m.trace.on('folio_freed', (e) => freed.push({ folio: e.folio, owner: e.owner }));
    const folio = (state.instance!.summary as { folio: number }).folio;
    const pool = hugetlbOf(m);
    expect(state.step(1)).toBe('folio_isolate_hugetlb (hugetlb_lock)');
    expect(pool.isolated.has(folio)).toBe(true);
    expect(m.memmap.refcount[folio]).toBe(2); // the mapping's and the isolation's
    state.step(0); // zap: the reference moves to the mmu_gather
    state.step(0); // tlb_finish_mmu: 2 → 1, the isolation reference keeps it alive
    expect(freed).toEqual([]);
    expect(m.memmap.refcount[folio]).toBe(1);
    expect(state.step(1)).toBe('unmap_and_move_huge_page (folio lock held)');
    // folio_putback_hugetlb restored the owner ops, then dropped the last reference: free_huge_folio.
    expect(freed).toEqual([{ folio, owner: 'hugetlb' }]);
    expect(pool.isolated.size).toBe(0);
    expect(pool.default_hstate.free_huge_pages).toBe(2);
  });

  it('migration first: the source goes back to the pool, the mapping now maps the destination, which the munmap frees', () => {
    const { m, labels } = finish('hugetlb-isolation', { strategy }, [1, 1, 1]);
    expect(labels[2]).toBe('migrate: return 0');
    const h = hugetlbOf(m).default_hstate;
    expect([h.nr_huge_pages, h.free_huge_pages]).toEqual([2, 2]);
  });
});

describe.each(STRATEGIES)('gmem-conversion (%s)', (strategy) => {
  it.each([
    ['deferred', { interleavings: 27, completed: 6, states: 53 }],
    ['synchronous', { interleavings: 31, completed: 9, states: 67 }],
  ] as const)('%s: no private page pinned or mapped, the conversion completes once, the refcount returns to 1', (variant, counts) => {
    expectExhausted(explore('gmem-conversion', { strategy, variant }, { bound: 2 }), counts);
  });

  it.each(['deferred', 'synchronous'])('%s without the GUP-fast PTE re-check: a pin lands on a page already made private', (variant) => {
    // gup reads the PTE; convert locks, zaps and (no extra reference yet) converts; gup grabs.
    const r = explore('gmem-conversion', { strategy, variant, fix: false }, { bound: 2 });
    expectReplayedViolation(r, '§6.2 private unmapped', 'gup', [1, 0, 0, 0, 1]);
  });

  it('deferred: a pin taken first makes the conversion pending; the unpin completes it in the refcount-0 callback', () => {
    const { m, state } = bootScenario({ scenario: findScenario('gmem-conversion'), params: { strategy, variant: 'deferred' } });
    const file = [...GuestMemfd.of(m).files][0]!;
    state.step(1);
    expect(state.step(1)).toBe('gup_fast: try_grab_folio, pte unchanged?');
    state.step(0);
    state.step(0);
    expect(state.step(0)).toBe('__kvm_gmem_set_attributes: pending');
    expect(file.attributes[0]).toBe(GMEM_PRIVATE);
    expect(folioAt(file, 0)).toBeLessThan(0); // out of the page cache while pending
    state.step(0); // unlock, return
    expect(state.step(1)).toBe('unpin_user_page'); // the last reference: kvm_gmem_handle_folio_put
    expect(state.step(1)).toBe('gup: return 1');
    const f = folioAt(file, 0) as Folio;
    expect(f).toBeGreaterThanOrEqual(0);
    expect(m.memmap.refcount[f]).toBe(1);
    expect(state.allDone).toBe(true);
  });

  it('synchronous: a pin taken first makes the request fail with -EAGAIN; user space retries after the unpin', () => {
    const { labels } = finish('gmem-conversion', { strategy, variant: 'synchronous' }, [1, 1, 0, 0, 0, 0, 0, 1, 1, 0]);
    expect(labels.slice(4, 7)).toEqual([
      '__kvm_gmem_set_attributes: -EAGAIN',
      'filemap_invalidate_unlock',
      'KVM_SET_MEMORY_ATTRIBUTES2 returned -EAGAIN: wait for the pins to go (blocked)',
    ]);
    expect(labels).toContain('__kvm_gmem_set_attributes: private');
  });
});

describe.each(STRATEGIES)('injected RCU walkers (%s)', (strategy) => {
  it.each([
    ['zsmalloc-free-isolated', {}, 41],
    ['hugetlb-isolation', {}, 10],
    ['gmem-conversion', { variant: 'deferred' }, 27],
    ['gmem-conversion', { variant: 'synchronous' }, 31],
  ] as const)('%s %o: a speculative reference anywhere in the race breaks no rule', (name, extra, alone) => {
    const r = explore(name, { strategy, walkers: 1, ...extra }, { bound: 2 });
    expect(r.counterexample).toBeNull();
    expect(r.exhausted).toBe(true);
    expect(r.interleavings).toBeGreaterThan(alone); // the walker's steps interleave with the race
  });
});

describe.each(STRATEGIES)('balloon-deflate without sticky page types (%s)', (strategy) => {
  it('(with them: the whole bounded space, no violation — the v6.17 questions get the answer the isolation got)', () => {
    expectExhausted(explore('balloon-deflate', { strategy }, { bound: 2 }), { interleavings: 39, completed: 13, states: 108 });
  });

  it('migrate_folio_done takes the migrated balloon page, already finalized, for an LRU folio: NR_ISOLATED_FILE -1', () => {
    // Compaction alone: isolate (4 steps), unmap (4), move (4), then migrate_folio_done: the page the
    // balloon finalized and released is "racing towards free" and no longer PageOffline.
    const r = explore('balloon-deflate', { strategy, fix: false }, { bound: 2 });
    expectReplayedViolation(r, '§9 NR_ISOLATED', 'compaction', Array(13).fill(1));
  });

  it('a deflate between the lockless page_has_movable_ops() and the page lock trips the VM_WARN of isolate_movable_ops_page', () => {
    expect(() => runSchedule('balloon-deflate', { strategy, fix: false }, [1, 1, 0, 1, 1])).toThrow(VmBugError);
    let err: unknown;
    try {
      runSchedule('balloon-deflate', { strategy, fix: false }, [1, 1, 0, 1, 1]);
    } catch (e) {
      err = e;
    }
    expect((err as VmBugError).invariant).toBe('VM_WARN_ON_ONCE_PAGE(!page_has_movable_ops)');
    // With sticky types the same schedule is harmless: balloon_page_isolate refuses the deflated page.
    const { labels } = finish('balloon-deflate', { strategy }, [1, 1, 0, 1, 1]);
    expect(labels).toContain('compaction: return -1');
  });
});
