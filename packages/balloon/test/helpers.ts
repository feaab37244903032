import {
  GFP_HIGHUSER_MOVABLE,
  MIGRATE_MODE,
  NR_NODE,
  NR_ZONE,
  alloc_page,
  captureMachineState,
  createMachine,
  diffMachineState,
  drain_all_pages,
  folio_put,
  list_next,
  migrate_movable_ops_page,
  type Folio,
  type Machine,
  type MachineConfig,
  type PageListHeads,
  type Pfn,
} from '@mm/core';
import { expect } from 'vitest';
import { balloonPlugin, type BalloonDevInfo, type BalloonPluginOptions } from '../src/index.js';

/** Both `__folio_put` dispatch strategies: every scenario runs under each. */
export const STRATEGIES = ['owner-ops', 'mainline'] as const;

/** A small debugVm machine with the balloon plugin. */
export function boot(config: MachineConfig = {}, options?: BalloonPluginOptions): Machine {
  return createMachine({ memory: '32M', debugVm: true, ...config, plugins: [balloonPlugin(options), ...(config.plugins ?? [])] });
}

/** Free pages after draining the per-CPU lists: Σ NR_FREE_PAGES. */
export function freePages(m: Machine): number {
  drain_all_pages(m, null);
  return m.zones.reduce((s, z) => s + z.vmstat[NR_ZONE.nr_free_pages]!, 0);
}

/** Σ managed_pages over zones. */
export function managedPages(m: Machine): number {
  return m.zones.reduce((s, z) => s + z.managed_pages, 0);
}

/** Σ NR_BALLOON_PAGES over nodes. */
export function balloonStat(m: Machine): number {
  return m.nodes.reduce((s, n) => s + n.vmstat[NR_NODE.nr_balloon_pages]!, 0);
}

/** PFNs on list 0 of `l`, first to last. */
export function listPfns(m: Machine, l: PageListHeads): number[] {
  const out: number[] = [];
  for (let p = l.heads[0]!; p >= 0; p = list_next(m.memmap.lru, p)) out.push(p);
  return out;
}

/** Everything a rejected balloon call must leave unchanged: the core state, the devices and managed pages. */
export function snapshot(m: Machine, devices: readonly BalloonDevInfo[]) {
  return {
    core: captureMachineState(m),
    devices: devices.map((b) => [b.pages.heads[0], b.pages.tails[0], b.pages.counts[0], b.isolated_pages, b.nrBalloonPagesStat]),
    managed: m.zones.map((z) => z.managed_pages),
  };
}

/** Assert a rejected call changed nothing. */
export function expectUnchanged(m: Machine, devices: readonly BalloonDevInfo[], before: ReturnType<typeof snapshot>): void {
  const after = snapshot(m, devices);
  expect(diffMachineState(before.core, after.core)).toEqual([]);
  expect(after.devices).toEqual(before.devices);
  expect(after.managed).toEqual(before.managed);
}

/**
 * What `migrate_pages()` does for one isolated movable_ops page: a destination from the allocator
 * (or the one given), `migrate_movable_ops_page`, then on success `migrate_folio_done(src)` (drops
 * the isolation reference) and `folio_put(dst)` (the allocation reference), on failure
 * `put_new_folio(dst)` — the source stays isolated for the caller to retry or put back.
 */
export function migrateOne(m: Machine, src: Pfn, dst?: Pfn): { rc: number; dst: Pfn } {
  const d = dst ?? (alloc_page(m, GFP_HIGHUSER_MOVABLE) as Pfn);
  expect(d).toBeGreaterThanOrEqual(0);
  const rc = migrate_movable_ops_page(m, d, src, MIGRATE_MODE.MIGRATE_SYNC);
  if (rc === 0) folio_put(m, src as Folio);
  folio_put(m, d as Folio);
  return { rc, dst: d };
}
