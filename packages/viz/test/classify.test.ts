import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  GFP_KERNEL,
  NR_PAGE_ORDERS,
  PG,
  NR_ZONE,
  PageReserved,
  createMachine,
  folio_test_hugetlb,
  recordOperations,
  type Folio,
  type MmPlugin,
  type Pfn,
} from '@mm/core';
import { balloonPlugin, balloon_devinfo_init, balloon_page_alloc, balloon_page_enqueue } from '@mm/balloon';
import { guestMemfdPlugin, kvm_create_vm, kvm_gmem_create, kvm_gmem_get_pfn, kvm_gmem_set_attributes } from '@mm/guest-memfd';
import { folio_test_hugetlb_freed, hugetlbPlugin } from '@mm/hugetlb';
import { devm_create_dev_dax, zoneDevicePlugin } from '@mm/zone-device';
import { zs_create_pool, zs_get_total_pages, zs_malloc, zsmallocPlugin } from '@mm/zsmalloc';
import {
  CORE_KIND,
  PageOwnerDescriber,
  VizRecorder,
  buildReportData,
  classifyPages,
  findViolations,
  pageOwnerDescribers,
  renderVizReport,
  type PageOwnerMap,
} from '../src/index.js';
import { ANON, FILE, HUGE_POOL } from './fixtures/hugetlb-lru.js';
import { runFixture } from './run-fixture.js';

const HPAGE_NR = 512; // a 2 MiB hugetlb page is 2^9 base pages

function pagesOf(map: PageOwnerMap, name: string): number {
  const i = map.kinds.findIndex((k) => k.name.startsWith(name));
  expect(i, name).toBeGreaterThanOrEqual(0);
  return map.counts[i]!;
}

describe('classifyPages', () => {
  for (const strategy of ['owner-ops', 'mainline'] as const) {
    it(`the fixture under ${strategy}: hugetlb free/active, LRU anon/file, buddy blocks by order, reserved`, async () => {
      const { m } = runFixture(strategy);
      const map = classifyPages(m, await pageOwnerDescribers(m));
      expect(map.owner.length).toBe(16384); // 64 MiB / 4 KiB
      expect(pagesOf(map, 'hugetlb active')).toBe(HPAGE_NR); // one folio taken from the pool
      expect(pagesOf(map, 'hugetlb free')).toBe((HUGE_POOL - 1) * HPAGE_NR);
      expect(pagesOf(map, 'LRU anon')).toBe(ANON);
      expect(pagesOf(map, 'LRU file')).toBe(FILE);
      // Every free page is in a buddy block: order o holds nr_free[o] blocks of 2^o pages (/proc/buddyinfo).
      for (let o = 0; o < NR_PAGE_ORDERS; o++) {
        const blocks = m.zones.reduce((s, z) => s + z.nr_free[o]!, 0);
        expect(map.counts[CORE_KIND.buddy + o], `order ${o}`).toBe(blocks * 2 ** o);
      }
      const free = m.zones.reduce((s, z) => s + z.vmstat[NR_ZONE.nr_free_pages]!, 0);
      expect(Array.from({ length: NR_PAGE_ORDERS }, (_, o) => map.counts[CORE_KIND.buddy + o]!).reduce((a, b) => a + b)).toBe(free);
      expect(map.counts[CORE_KIND.pcp]).toBe(0); // drain_all_pages emptied the per-CPU lists
      let reserved = 0;
      for (let p = 0; p < m.memmap.nrPages; p++) if (PageReserved(m, p as Pfn)) reserved++;
      expect(map.counts[CORE_KIND.reserved]).toBe(reserved);
      expect(map.counts.reduce((a, b) => a + b)).toBe(16384);
      // Nothing is left unexplained.
      expect(map.counts[CORE_KIND.unowned]).toBe(0);
      expect(map.counts[CORE_KIND.allocated]).toBe(0);
    });
  }

  it('per-CPU list pages are told apart from buddy pages', () => {
    const m = createMachine({ memory: '64M', cpus: 1 });
    const ops = recordOperations(m, null);
    const f = ops.alloc_pages(GFP_KERNEL, 0) as Pfn; // rmqueue_bulk refills the pcp list with a batch
    const pcp = m.zones.reduce((s, z) => s + z.per_cpu_pageset.reduce((t, p) => t + p.count, 0), 0);
    expect(pcp).toBeGreaterThan(0);
    const map = classifyPages(m, []);
    expect(map.counts[CORE_KIND.pcp]).toBe(pcp);
    expect(map.owner[f]).toBe(CORE_KIND.allocated);
  });

  it('guest_memfd shared/private, balloon, zsmalloc and ZONE_DEVICE by memory type', async () => {
    const m = createMachine({ memory: '128M', cpus: 1, debugVm: true, plugins: [guestMemfdPlugin(), balloonPlugin(), zsmallocPlugin(), zoneDevicePlugin()] });
    const file = kvm_gmem_create(m, kvm_create_vm(m), 16 * 4096, 0);
    for (let i = 0; i < 12; i++) expect(kvm_gmem_get_pfn(m, file, i)).toBeGreaterThan(0); // private faults
    expect(kvm_gmem_set_attributes(m, file, { offset: 12 * 4096, size: 4 * 4096, attributes: 0, flags: 0 })).toBe(0);
    for (let i = 12; i < 16; i++) expect(kvm_gmem_get_pfn(m, file, i, false)).toBeGreaterThan(0); // shared faults
    const b = balloon_devinfo_init(m);
    for (let i = 0; i < 3; i++) balloon_page_enqueue(m, b, balloon_page_alloc(m) as Pfn);
    const pool = zs_create_pool(m, 'zram0');
    for (let i = 0; i < 10; i++) expect(zs_malloc(m, pool, 3000)).toBeGreaterThan(0);
    devm_create_dev_dax(m, 512); // MEMORY_DEVICE_GENERIC
    const map = classifyPages(m, await pageOwnerDescribers(m));
    expect(pagesOf(map, 'guest_memfd private')).toBe(12);
    expect(pagesOf(map, 'guest_memfd shared')).toBe(4);
    expect(pagesOf(map, 'balloon')).toBe(3);
    expect(pagesOf(map, 'zsmalloc')).toBe(zs_get_total_pages(m, pool));
    expect(pagesOf(map, 'ZONE_DEVICE MEMORY_DEVICE_GENERIC')).toBe(512);
    expect(pagesOf(map, 'ZONE_DEVICE MEMORY_DEVICE_PRIVATE')).toBe(0);
    expect(map.counts[CORE_KIND.offline]).toBe(0); // every PageOffline page is the balloon's
  });

  it('a plugin registers its own describer under the PageOwnerDescriber token', async () => {
    const claimed = new Set<number>();
    const plugin: MmPlugin = {
      meta: { name: 'my-pool', version: '1.0.0' },
      register(container) {
        container.register(PageOwnerDescriber, {
          useValue: {
            owner: 'my-pool',
            kinds: [{ name: 'my pool', color: '#123456', owner: 'my-pool' }],
            classifier: () => (head: Pfn) => (claimed.has(head) ? 0 : -1),
          } satisfies PageOwnerDescriber,
        });
      },
    };
    const m = createMachine({ memory: '64M', cpus: 1, plugins: [plugin] });
    const ops = recordOperations(m, null);
    for (let i = 0; i < 5; i++) claimed.add(ops.folio_alloc(GFP_KERNEL, 2) as Folio); // five order-2 folios
    const map = classifyPages(m, await pageOwnerDescribers(m));
    expect(pagesOf(map, 'my pool')).toBe(5 * 4); // tails take their head's kind
  });
});

describe('the report data', () => {
  it('pageblock cells above the threshold: dominant owner, second owner, mix and counts', async () => {
    const { m } = runFixture();
    const d = buildReportData(m, { describers: await pageOwnerDescribers(m), pageModeMaxPages: 1024 });
    expect(d.mode).toBe('pageblock');
    expect(d.cells).toBe(16384 / 512);
    let active = -1;
    for (let p = 0; p < m.memmap.nrPages; p += 512) {
      if (folio_test_hugetlb(m, p as Folio) && !folio_test_hugetlb_freed(m, p as Folio)) active = p;
    }
    expect(active).toBeGreaterThanOrEqual(0);
    const unpack = (name: string): Uint8Array => new Uint8Array(gunzipSync(Buffer.from(d.arrays[name]!, 'base64')));
    const owner = unpack('blockOwner');
    const mix = unpack('blockMix');
    expect(d.kinds[owner[active / 512]!]!.name).toMatch(/^hugetlb active/);
    expect(mix[active / 512]).toBe(0); // the whole block is one hugetlb folio
    expect(unpack('owner')).toHaveLength(16384); // per-page owners stay, for the block's page view
  });

  it('a corrupted page is found by the invariant checker and named with its PFN', async () => {
    const { m } = runFixture();
    const victim = m.memmap.refcount.findIndex((r, p) => r === 1 && (m.memmap.flags[p]! & (1 << PG.lru)) !== 0); // an LRU folio
    expect(findViolations(m)).toEqual([]);
    m.memmap.refcount[victim] = -1; // a deliberately broken struct page
    const v = findViolations(m);
    expect(v).toHaveLength(1);
    expect(v[0]!.pfn).toBe(victim);
    expect(v[0]!.invariant).toMatch(/refcount/);
    const html = await renderVizReport(m);
    expect(html).toContain(`"pfn":${victim}`);
  });

  it('the HTML is self-contained: no external resource, a CSP that forbids the network', async () => {
    const { m, timeline } = runFixture();
    const html = await renderVizReport(m, { timeline, title: 'fixture' });
    expect(html).not.toMatch(/<link\b|<img\b|<iframe\b|\bsrc\s*=|\bhref\s*=|@import|url\(/i);
    expect(html).toContain("default-src 'none'");
    expect(html).toContain('<canvas id="map">');
  });
});

describe('VizRecorder', () => {
  it('records one event per operation with its tracepoints and buddyinfo after it, then detaches', () => {
    const m = createMachine({ memory: '64M', cpus: 1 });
    const rec = new VizRecorder(m);
    expect(m.trace.active).toBe(true);
    const ops = recordOperations(m, rec.sink);
    const f = ops.folio_alloc(GFP_KERNEL, 3) as Folio;
    ops.folio_put(f);
    expect(() => ops.folio_put(f)).toThrow(); // a put on a free folio: EINVAL, recorded as err
    rec.detach();
    expect(m.trace.active).toBe(false);
    const t = rec.timeline();
    expect(t.events.map((e) => [e.op, e.outcome])).toEqual([
      ['folio_alloc', 'ret'],
      ['folio_put', 'ret'],
      ['folio_put', 'err'],
    ]);
    expect(t.events[0]!.tracepoints[0]).toBe(1); // one mm_page_alloc
    expect(t.events[1]!.tracepoints[1]).toBe(1); // one mm_page_free for the order-3 block
    expect(t.events[2]!.detail).toBe('EINVAL');
    expect(t.buddyinfo).toHaveLength(4); // before, and after each of the 3 operations
    const total = (row: readonly number[]): number => row.reduce((s, n, o) => s + n * 2 ** o, 0);
    expect(total(t.buddyinfo[1]!)).toBeLessThan(total(t.buddyinfo[0]!));
  });
});
