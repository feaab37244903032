import { NR_NODE, NR_ZONE, PGTY, set_movable_ops, type Machine, type MmEvents, type MovableOperations, type Pfn } from '@mm/core';

/**
 * Checks the race scenarios share: free-page accounting (nothing leaked), the isolation counters, a
 * movable_ops table that refuses to be called on a freed page, and tracepoint listeners. A search
 * runs a scenario's setup again on the same machine after restoring a checkpoint, which resets the
 * machine's state but not its listeners or its movable_ops registry: both helpers here replace what
 * an earlier setup installed instead of piling up.
 *
 * @module
 */

/** Marks what a scenario's setup installed on a machine (a listener, a guarded movable_ops table). */
const SCENARIO_INSTALLED = Symbol('@mm/explore:scenario-installed');

interface Installed {
  [SCENARIO_INSTALLED]?: unknown;
}

/**
 * Attach `fn` to tracepoint `event` of `m` for this setup of a scenario, detaching the listener an
 * earlier setup on the same machine attached to that event.
 */
export function onScenarioTrace<E extends keyof MmEvents>(m: Machine, event: E, fn: MmEvents[E]): void {
  const trace = m.trace as unknown as {
    listeners(e: E): Installed[];
    off(e: E, f: unknown): void;
    on(e: E, f: unknown): void;
  };
  for (const l of trace.listeners(event)) if (l[SCENARIO_INSTALLED] === true) trace.off(event, l);
  (fn as Installed)[SCENARIO_INSTALLED] = true;
  trace.on(event, fn);
}

const BUDDY = (PGTY.buddy << 24) | 0;

/**
 * Pages free in the page allocator: every zone's buddy lists (NR_FREE_PAGES) plus every CPU's pcp
 * lists. A page leaked or freed twice moves this number away from what the scenario started with.
 */
export function freePageCount(m: Machine): number {
  let n = 0;
  for (const z of m.zones) {
    n += z.vmstat[NR_ZONE.nr_free_pages]!;
    for (const p of z.per_cpu_pageset) n += p.count;
  }
  return n;
}

/** The machine's `NR_ISOLATED_*` counters, summed over its nodes. */
export interface IsolatedCounts {
  /** `NR_ISOLATED_ANON`, in pages. */
  readonly anon: number;
  /** `NR_ISOLATED_FILE`, in pages. */
  readonly file: number;
}

/** Σ over nodes of NR_ISOLATED_ANON and NR_ISOLATED_FILE. */
export function isolatedCounts(m: Machine): IsolatedCounts {
  let anon = 0;
  let file = 0;
  for (const n of m.nodes) {
    anon += n.vmstat[NR_NODE.nr_isolated_anon]!;
    file += n.vmstat[NR_NODE.nr_isolated_file]!;
  }
  return { anon, file };
}

/**
 * The end-of-race rule every scenario shares: no bad page was freed, NR_ISOLATED_* is back to 0, and
 * (if `freeBefore` is given) the allocator has exactly the free pages it had before the setup
 * allocated the scenario's memory (nothing leaked, nothing freed twice).
 */
export function checkNothingLeaked(m: Machine, pfn: Pfn, freeBefore: number | null): void {
  if (m.nrBadPages !== 0) m.vmBug('explore: no bad page', `${m.nrBadPages} bad page(s) freed`, pfn);
  const iso = isolatedCounts(m);
  if (iso.anon !== 0 || iso.file !== 0) m.vmBug('explore: nothing left isolated', `NR_ISOLATED_ANON ${iso.anon}, NR_ISOLATED_FILE ${iso.file} after every task finished`, pfn);
  if (freeBefore !== null) {
    const now = freePageCount(m);
    if (now !== freeBefore) m.vmBug('explore: no page leaked or freed twice', `${now} free pages after every task finished, ${freeBefore} before the setup allocated`, pfn);
  }
}

/**
 * Replace the movable_ops table registered for `pageType` by one that first checks that the page it
 * is called on is not free (refcount > 0, not PageBuddy) — the migration core must never hand an owner
 * a page that already went back to the allocator — then calls the owner's. Uses `set_movable_ops`,
 * the kernel's registry; a table an earlier setup guarded is guarded once, not twice.
 */
export function guardMovableOps(m: Machine, pageType: number): void {
  const current = m.movableOps[pageType];
  if (current == null) return;
  const owner = ((current as Installed)[SCENARIO_INSTALLED] as MovableOperations | undefined) ?? current;
  const live = (page: Pfn, what: string): void => {
    if (m.memmap.refcount[page]! <= 0 || m.memmap.mapcount[page] === BUDDY) {
      m.vmBug('explore: movable_ops on a live page', `${what} called on a freed page`, page);
    }
  };
  const guarded: MovableOperations & Installed = {
    [SCENARIO_INSTALLED]: owner,
    pageType,
    isolate_page(page, mode) {
      live(page, 'isolate_page');
      return owner.isolate_page(page, mode);
    },
    migrate_page(dst, src, mode) {
      live(src, 'migrate_page');
      return owner.migrate_page(dst, src, mode);
    },
    putback_page(page) {
      live(page, 'putback_page');
      owner.putback_page(page);
    },
  };
  set_movable_ops(m, null, pageType);
  set_movable_ops(m, guarded, pageType);
}
