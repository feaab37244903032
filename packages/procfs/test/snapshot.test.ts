import {
  MIGRATE_TYPES,
  NR_NODE,
  NR_PAGE_ORDERS,
  NR_ZONE,
  VM_EVENT,
  VM_EVENT_ITEMS,
  captureMachineState,
  diffMachineState,
  page_zone,
  type Machine,
  frag_show,
} from '@mm/core';
import { describe, expect, it } from 'vitest';
import { meminfo_proc_show, node_read_meminfo, snapshotFiles, vmstat_show, zoneinfo_show } from '@mm/procfs';
import { parseBuddyinfo, parseMeminfo, parsePagetypeFree, parsePairs, parseZoneinfo } from './parse.js';
import { STRATEGIES, buildScenario } from './scenario.js';

const { m, facts } = buildScenario('owner-ops');
const files = snapshotFiles(m);
const text = (p: string): string => files.get(p) as string;
const meminfo = parseMeminfo(text('proc/meminfo'));
const zoneSum = (mm: Machine, i: number): number => mm.zones.reduce((s, z) => s + z.vmstat[i]!, 0);
const nodeSum = (mm: Machine, i: number): number => mm.nodes.reduce((s, n) => s + n.vmstat[i]!, 0);

describe('free memory: buddyinfo, pagetypeinfo, meminfo, vmstat and zoneinfo agree with the free lists', () => {
  it('buddyinfo prints each populated zone nr_free per order, and Σ count·2^order is its NR_FREE_PAGES', () => {
    const rows = parseBuddyinfo(text('proc/buddyinfo'));
    expect(rows.map((r) => `${r.nid}:${r.zone}`)).toEqual(m.zones.filter((z) => z.present_pages > 0).map((z) => `${z.nid}:${z.name}`));
    for (const r of rows) {
      const z = m.zones.find((x) => x.nid === r.nid && x.name === r.zone)!;
      expect(r.counts).toEqual(Array.from(z.nr_free));
      // No pageblock is isolated here, so every page on the free lists is counted free (§13 §11.1).
      expect(r.counts.reduce((s, n, o) => s + n * 2 ** o, 0)).toBe(z.vmstat[NR_ZONE.nr_free_pages]);
    }
  });

  it('the fragmented zone has hundreds of order-0 blocks (every other page of 1200 freed)', () => {
    const dma32 = parseBuddyinfo(text('proc/buddyinfo')).find((r) => r.nid === 0 && r.zone === 'DMA32')!;
    expect(dma32.counts[0]).toBeGreaterThanOrEqual(590);
  });

  it('pagetypeinfo free counts summed over migratetypes equal buddyinfo per order', () => {
    const free = parsePagetypeFree(text('proc/pagetypeinfo'));
    for (const r of parseBuddyinfo(text('proc/buddyinfo'))) {
      const rows = free.filter((f) => f.nid === r.nid && f.zone === r.zone);
      expect(rows).toHaveLength(MIGRATE_TYPES);
      for (let o = 0; o < NR_PAGE_ORDERS; o++) expect(rows.reduce((s, f) => s + f.counts[o]!, 0)).toBe(r.counts[o]);
    }
  });

  it('MemFree, vmstat nr_free_pages and zoneinfo "pages free" are NR_FREE_PAGES, without per-CPU list pages', () => {
    const free = zoneSum(m, NR_ZONE.nr_free_pages);
    const buddyPages = parseBuddyinfo(text('proc/buddyinfo')).reduce((s, r) => s + r.counts.reduce((a, n, o) => a + n * 2 ** o, 0), 0);
    expect(meminfo.get('MemFree')).toBe(free * 4);
    expect(buddyPages).toBe(free);
    expect(parsePairs(text('proc/vmstat')).get('nr_free_pages')).toBe(free);
    const zi = parseZoneinfo(text('proc/zoneinfo'));
    expect(zi.reduce((s, z) => s + Number(z.values.get('free')), 0)).toBe(free);
    // The pages freed last sit on CPU 0's list of their zone: zoneinfo shows them as the pcp count.
    const z = page_zone(m, facts.pcpPages[0]!);
    const block = zi.find((b) => b.nid === z.nid && b.zone === z.name)!;
    expect(Number(block.values.get('count'))).toBe(z.per_cpu_pageset[0]!.count);
    expect(z.per_cpu_pageset[0]!.count).toBeGreaterThanOrEqual(facts.pcpPages.length);
  });
});

describe('meminfo numbers are the model state', () => {
  it('MemTotal is the managed pages (the virtio balloon took 300 off them), MemAvailable is si_mem_available', () => {
    const managed = m.zones.reduce((s, z) => s + z.managed_pages, 0);
    // 128 MiB = 32768 pages, less the first 1 MiB reserved at boot (256) and the 300 ballooned pages.
    expect(managed).toBe(32768 - 256 - facts.balloonPages);
    expect(meminfo.get('MemTotal')).toBe(managed * 4);
    // si_mem_available(): free − Σ min(max lowmem_reserve + high wmark, managed), plus the page cache
    // (the 40 file folios) less min(half of it, Σ low watermarks) = 40 − 20; no reclaimable slab.
    let reserve = 0;
    for (const z of m.zones) reserve += Math.min(Math.max(...Array.from(z.lowmem_reserve).slice(z.zid)) + z.watermark[2]!, z.managed_pages);
    expect(meminfo.get('MemAvailable')).toBe((zoneSum(m, NR_ZONE.nr_free_pages) - reserve + 20) * 4);
    expect(meminfo.get('CommitLimit')).toBe(Math.floor(managed / 2) * 4); // overcommit_ratio 50, no swap, no hugetlb
  });

  it('LRU lines are the node LRU counters; Balloon is what @mm/balloon contributes (NR_BALLOON_PAGES)', () => {
    // 40 order-0 file folios on the inactive file list, one 512-page anon THP on the active anon list.
    expect(meminfo.get('Inactive(file)')).toBe(nodeSum(m, NR_NODE.nr_inactive_file) * 4);
    expect(meminfo.get('Inactive(file)')).toBe(40 * 4);
    expect(meminfo.get('Active(anon)')).toBe(512 * 4);
    expect(meminfo.get('Active')).toBe(meminfo.get('Active(anon)')! + meminfo.get('Active(file)')!);
    expect(meminfo.get('Balloon')).toBe(facts.balloonPages * 4);
    expect(meminfo.get('Balloon')).toBe(nodeSum(m, NR_NODE.nr_balloon_pages) * 4);
    expect(meminfo.get('HardwareCorrupted')).toBe(4); // one hwpoisoned page
  });

  it('per-node meminfo sums to the global values', () => {
    const nodes = m.nodes.map((_, nid) => parseMeminfo(text(`sys/devices/system/node/node${nid}/meminfo`)));
    for (const [node, global] of [
      ['MemTotal', 'MemTotal'],
      ['MemFree', 'MemFree'],
      ['Active(anon)', 'Active(anon)'],
      ['Inactive(file)', 'Inactive(file)'],
      ['HugePages_Total', 'HugePages_Total'],
      ['HugePages_Free', 'HugePages_Free'],
    ] as const) {
      expect(nodes.reduce((s, n) => s + n.get(node)!, 0)).toBe(meminfo.get(global));
    }
    for (const n of nodes) expect(n.get('MemUsed')).toBe(n.get('MemTotal')! - n.get('MemFree')!);
  });
});

describe('vmstat and zoneinfo numbers are the model counters', () => {
  it('every event counter the model keeps is printed with its value (pgpgin/out in kB)', () => {
    const v = parsePairs(text('proc/vmstat'));
    for (const name of VM_EVENT_ITEMS) expect(v.get(name)).toBe(m.vmEvents[VM_EVENT[name]]);
    expect(v.get('balloon_inflate')).toBe(facts.balloonPages);
    expect(v.get('nr_balloon_pages')).toBe(facts.balloonPages);
    expect(v.get('nr_zspages')).toBe(zoneSum(m, NR_ZONE.nr_zspages));
    expect(v.get('nr_zspages')).toBeGreaterThan(0);
    // Free pages in blocks of at least pageblock_order (512 pages), from the free lists.
    const blocks = m.zones.reduce((s, z) => s + (z.nr_free[9]! * 512 + z.nr_free[10]! * 1024), 0);
    expect(v.get('nr_free_pages_blocks')).toBe(blocks);
  });

  it('zoneinfo shows each zone span, present/managed pages, watermarks and lowmem reserves', () => {
    const zi = parseZoneinfo(text('proc/zoneinfo'));
    for (const z of m.zones) {
      const b = zi.find((x) => x.nid === z.nid && x.zone === z.name)!.values;
      expect([b.get('spanned'), b.get('present'), b.get('managed'), b.get('min'), b.get('low'), b.get('high'), b.get('start_pfn')].map(Number)).toEqual([
        z.spanned_pages,
        z.present_pages,
        z.managed_pages,
        z.watermark[0],
        z.watermark[1],
        z.watermark[2],
        z.zone_start_pfn,
      ]);
      expect(b.get('protection')).toBe(`(${Array.from(z.lowmem_reserve).join(', ')})`);
    }
  });
});

describe('hugepages: sysfs, sysctl and meminfo agree', () => {
  it('without a hugetlb contributor the default 2 MiB pool is empty everywhere', () => {
    for (const f of ['nr_hugepages', 'free_hugepages', 'resv_hugepages', 'surplus_hugepages', 'nr_overcommit_hugepages']) {
      expect(text(`sys/kernel/mm/hugepages/hugepages-2048kB/${f}`)).toBe('0\n');
    }
    expect(text('proc/sys/vm/nr_hugepages')).toBe('0\n');
    expect(meminfo.get('Hugepagesize')).toBe(2048);
    expect(text('sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages')).toBe('0\n');
  });

  it('sysctls show the model values: min_free_kbytes, watermark_scale_factor, lowmem_reserve_ratio', () => {
    expect(text('proc/sys/vm/min_free_kbytes')).toBe(`${m.minFreeKbytes}\n`);
    expect(text('proc/sys/vm/watermark_scale_factor')).toBe('10\n');
    expect(text('proc/sys/vm/lowmem_reserve_ratio')).toBe('256\t256\t32\t0\t0\n');
  });
});

describe('a snapshot is a pure function of the machine', () => {
  it('does not change the machine, and single-file functions give the same text as the snapshot', () => {
    const before = captureMachineState(m);
    const again = snapshotFiles(m);
    expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
    expect(meminfo_proc_show(m)).toBe(text('proc/meminfo'));
    expect(frag_show(m)).toBe(text('proc/buddyinfo'));
    expect(vmstat_show(m)).toBe(text('proc/vmstat'));
    expect(zoneinfo_show(m)).toBe(text('proc/zoneinfo'));
    expect(node_read_meminfo(m, 1)).toBe(text('sys/devices/system/node/node1/meminfo'));
    expect([...again.keys()]).toEqual([...files.keys()]);
  });

  it('is byte-identical under both __folio_put strategies', () => {
    const other = snapshotFiles(buildScenario(STRATEGIES[1]!).m);
    expect(STRATEGIES[0]).toBe('owner-ops');
    expect([...other.keys()]).toEqual([...files.keys()]);
    for (const [p, data] of files) expect(Buffer.from(other.get(p)!).equals(Buffer.from(data)), p).toBe(true);
  });
});
