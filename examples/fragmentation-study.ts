/**
 * A fragmentation study: the same seeded workload on the same 128 MiB machine under both
 * `__folio_put` dispatch strategies (series 1 `owner-ops`, upstream `mainline`) and both page-type
 * rules (series 2's types sticky until freed, v6.17, and the older clear-before-free), then a full
 * compaction (`echo 1 > /proc/sys/vm/compact_memory`). The workload mixes mapped anonymous folios
 * (movable through the LRU) with virtio-balloon pages (movable through `balloon_mops`, found by
 * PGTY_offline), unmaps a random share of the anonymous folios to leave holes, and compacts.
 *
 * Neither switch changes where pages go: the four columns must agree line for line. What differs is
 * only how the model gets there (who `__folio_put` asks, who clears PageOffline).
 *
 * Run: node --conditions=@mm/source --import tsx examples/fragmentation-study.ts
 */
import 'reflect-metadata';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import {
  GFP_HIGHUSER_MOVABLE,
  MAX_PAGE_ORDER,
  VM_EVENT,
  anon_vma_alloc,
  compact_memory,
  createMachine,
  drain_all_pages,
  extfrag_for_order,
  faultInAnonFolio,
  folio_alloc,
  lru_add_drain_all,
  zapFolioPtes,
  type Folio,
  type FreeDispatchStrategy,
  type Zone,
} from '@mm/core';
import { balloonPlugin, fill_balloon, virtballoon_probe } from '@mm/balloon';

const SEED = 42;
/** The /proc/vmstat events compaction moves, reported as the difference it made. */
const EVENTS = ['pgmigrate_success', 'balloon_migrate', 'compact_isolated'] as const;

/** Free blocks of each order in `zone`, summed over migratetypes (one /proc/buddyinfo row). */
function freeBlocks(zone: Zone): number[] {
  return Array.from(zone.nr_free.subarray(0, MAX_PAGE_ORDER + 1));
}

/** One configuration: boot, run the workload, compact; the rows of its column. */
function study(strategy: FreeDispatchStrategy, stickyPageTypes: boolean): Map<string, string> {
  const m = createMachine({ memory: '128M', strategy, stickyPageTypes, seed: SEED, plugins: [balloonPlugin()] });
  const zone = m.zones.find((z) => z.name === 'DMA32')!;
  const rng = xoroshiro128plus(SEED);
  const vb = virtballoon_probe(m);
  const av = anon_vma_alloc(m);
  const anon: Folio[] = [];
  // Fill memory in a seeded order (85 % fault in an anonymous folio, 15 % inflate one balloon page)
  // until the allocator stops at the watermark, then unmap a random half of the anonymous folios:
  // the free memory is now scattered in small holes between movable pages.
  for (let i = 0; ; i++) {
    if (uniformInt(rng, 0, 99) < 85) {
      const f = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0);
      if (f === -1) break;
      faultInAnonFolio(m, f, av, i);
      anon.push(f);
    } else if (fill_balloon(m, vb, 1) === 0) break;
  }
  const unmapped = anon.filter(() => uniformInt(rng, 0, 1) === 0);
  for (const f of unmapped) zapFolioPtes(m, f); // the mapping held the last reference: freed
  lru_add_drain_all(m);
  drain_all_pages(m, null);
  const rows = new Map<string, string>();
  const before = freeBlocks(zone);
  const eventsBefore = EVENTS.map((e) => m.vmEvents[VM_EVENT[e]]!);
  rows.set('anon folios mapped', String(anon.length - unmapped.length));
  rows.set('balloon pages', String(vb.vb_dev_info.nrListed));
  rows.set('DMA32 free blocks, order 0..10, before', before.join(' '));
  rows.set('free blocks of order >= 9 before', String(before[9]! + before[10]!));
  rows.set('extfrag order 9 before (%)', String(extfrag_for_order(zone, 9)));

  compact_memory(m);
  drain_all_pages(m, null);
  m.checkInvariants('fragmentation-study');

  const after = freeBlocks(zone);
  rows.set('DMA32 free blocks, order 0..10, after', after.join(' '));
  rows.set('free blocks of order >= 9 after', String(after[9]! + after[10]!));
  rows.set('extfrag order 9 after (%)', String(extfrag_for_order(zone, 9)));
  EVENTS.forEach((e, i) => rows.set(e, String(m.vmEvents[VM_EVENT[e]]! - eventsBefore[i]!)));
  return rows;
}

const configs: [FreeDispatchStrategy, boolean][] = [
  ['owner-ops', true],
  ['mainline', true],
  ['owner-ops', false],
  ['mainline', false],
];
const columns = configs.map(([strategy, sticky]) => ({ title: `${strategy}${sticky ? ' sticky' : ' clear'}`, rows: study(strategy, sticky) }));
const labels = [...columns[0]!.rows.keys()];
const width = Math.max(...labels.map((l) => l.length));
const cellWidth = Math.max(...columns.flatMap((c) => [c.title.length, ...[...c.rows.values()].map((v) => v.length)]));
const line = (first: string, cells: string[]): string => [first.padEnd(width), ...cells.map((c) => c.padEnd(cellWidth))].join(' | ').trimEnd();
console.log(line('', columns.map((c) => c.title)));
for (const label of labels) console.log(line(label, columns.map((c) => c.rows.get(label)!)));
