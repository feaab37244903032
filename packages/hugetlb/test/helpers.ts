import { captureMachineState, createMachine, diffMachineState, type Machine, type MachineConfig, type MachineState } from '@mm/core';
import { expect } from 'vitest';
import { hugetlbOf, hugetlbPlugin, type HugetlbOptions, type HugetlbState, type Hstate } from '@mm/hugetlb';

/** Both `__folio_put` dispatch strategies: every scenario runs under each. */
export const STRATEGIES = ['owner-ops', 'mainline'] as const;

/** 2 MiB in bytes. */
export const MB2 = 2 << 20;

/** A small debugVm machine with hugetlb. */
export function boot(strategy: (typeof STRATEGIES)[number], opts: HugetlbOptions = {}, config: MachineConfig = {}): { m: Machine; pool: HugetlbState; h: Hstate } {
  const m = createMachine({ memory: '32M', debugVm: true, strategy, ...config, plugins: [hugetlbPlugin(opts)] });
  const pool = hugetlbOf(m);
  return { m, pool, h: pool.default_hstate };
}

/** The pool counters of an hstate, global. */
export function counts(h: Hstate): { nr: number; free: number; resv: number; surplus: number; max: number } {
  return { nr: h.nr_huge_pages, free: h.free_huge_pages, resv: h.resv_huge_pages, surplus: h.surplus_huge_pages, max: h.max_huge_pages };
}

/** Everything hugetlb counts (hstates, cgroups, subpools, states), as plain data. */
export function hugetlbSnapshot(pool: HugetlbState): unknown {
  return JSON.parse(
    JSON.stringify({
      hstates: pool.hstates.map((h) => ({
        c: counts(h),
        over: h.nr_overcommit_huge_pages,
        demote: h.demote_order,
        nodes: [...h.nr_huge_pages_node, ...h.free_huge_pages_node, ...h.surplus_huge_pages_node],
        lists: [...h.hugepage_freelists.heads, ...h.hugepage_activelist.heads],
        cursors: [h.next_nid_to_alloc, h.next_nid_to_free],
        hvo: h.vmemmap_pages_freed,
      })),
      cgroups: pool.cgroups.map((cg) => cg && [cg.online, cg.hugepage.map((c) => [c.usage, c.max, c.failcnt]), cg.rsvd_hugepage.map((c) => [c.usage, c.max]), [...cg.events]]),
      subpools: pool.subpools.map((s) => s && [s.used_hpages, s.rsv_hpages, s.count]),
      isolated: [...pool.isolated],
      transient: [...pool.transient],
    }),
  );
}

/** Capture machine and hugetlb state, run `fn`, and assert that nothing changed. */
export function expectUnchanged(m: Machine, fn: () => void): void {
  const pool = hugetlbOf(m);
  const before: MachineState = captureMachineState(m);
  const hb = hugetlbSnapshot(pool);
  fn();
  expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
  expect(hugetlbSnapshot(pool)).toEqual(hb);
}

/** Collect the `folio_freed` events of hugetlb folios (who freed which folio). */
export function recordFrees(m: Machine): { folio: number; owner: string }[] {
  const out: { folio: number; owner: string }[] = [];
  m.trace.on('folio_freed', (e) => out.push({ folio: e.folio, owner: e.owner }));
  return out;
}
