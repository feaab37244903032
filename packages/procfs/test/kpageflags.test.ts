import {
  GFP_KERNEL,
  MIGRATE_MODE,
  PGTY,
  ZONE,
  alloc_page,
  asPfn,
  createMachine,
  folio_get,
  isolate_movable_ops_page,
  putback_movable_ops_page,
  zoneFlagsByte,
  type Pfn,
} from '@mm/core';
import { describe, expect, it } from 'vitest';
import {
  KPF_ACTIVE,
  KPF_BITS,
  KPF_BUDDY,
  KPF_COMPOUND_HEAD,
  KPF_COMPOUND_TAIL,
  KPF_HWPOISON,
  KPF_LRU,
  KPF_MMAP,
  KPF_OFFLINE,
  KPF_PRIVATE,
  KPF_RECLAIM,
  KPF_RESERVED,
  KPF_SWAPBACKED,
  KPF_THP,
  KPF_UPTODATE,
  get_max_dump_pfn,
  kpagecount_read,
  kpageflags_read,
  snapshotFiles,
  stable_page_flags,
} from '@mm/procfs';
import { parseBuddyinfo, u64s } from './parse.js';
import { buildScenario } from './scenario.js';

const { m, facts } = buildScenario('owner-ops');
const files = snapshotFiles(m);
const flags = u64s(files.get('proc/kpageflags') as Uint8Array);
const count = u64s(files.get('proc/kpagecount') as Uint8Array);
const bit = (b: number): bigint => 1n << BigInt(b);
const has = (pfn: number, b: number): boolean => (flags[pfn]! & bit(b)) !== 0n;
const pfnsWith = (b: number): number[] => flags.flatMap((v, pfn) => ((v & bit(b)) !== 0n ? [pfn] : []));

describe('/proc/kpageflags and /proc/kpagecount layout (fs/proc/page.c)', () => {
  it('hold one little-endian u64 per PFN up to max_pfn rounded to a 128 MiB section', () => {
    expect(get_max_dump_pfn(m)).toBe(32768); // 128 MiB is exactly one x86-64 memory section
    expect((files.get('proc/kpageflags') as Uint8Array).byteLength).toBe(32768 * 8);
    expect((files.get('proc/kpagecount') as Uint8Array).byteLength).toBe(32768 * 8);
  });

  it('set only bits the kernel defines (tools/mm/page-types rejects any other)', () => {
    let known = 0n;
    for (const b of Object.values(KPF_BITS)) known |= bit(b);
    let all = 0n;
    for (const v of flags) all |= v;
    expect(all & ~known).toBe(0n);
  });

  it('stable_page_flags() of single PFNs agrees with the bulk file, inside free blocks too', () => {
    const buddyHead = m.zones[1]!.free_list.heads[10 * 6 + 1]!; // an order-10 Movable block of node 0 DMA32
    for (const pfn of [0, 255, 256, facts.thp, facts.thp + 7, facts.compound + 1, buddyHead, buddyHead + 513, facts.pcpPages[0]!, facts.poisoned]) {
      expect(BigInt(stable_page_flags(m, asPfn(pfn))), `pfn ${pfn}`).toBe(flags[pfn]);
    }
  });
});

describe('KPF bits derived as fs/proc/page.c derives them', () => {
  it('BUDDY on every page of every free block: as many pages as buddyinfo counts, and never on pcp pages', () => {
    const buddyPages = parseBuddyinfo(files.get('proc/buddyinfo') as string).reduce((s, r) => s + r.counts.reduce((a, n, o) => a + n * 2 ** o, 0), 0);
    expect(pfnsWith(KPF_BUDDY)).toHaveLength(buddyPages);
    // A page on a per-CPU list is free but not in a buddy block: no flags at all (refcount 0, untyped).
    for (const p of facts.pcpPages) expect(flags[p]).toBe(0n);
  });

  it('a THP: COMPOUND_HEAD on the head, COMPOUND_TAIL on 511 tails, THP and the folio LRU flags on all 512', () => {
    const thp = Array.from({ length: 512 }, (_, i) => facts.thp + i);
    expect(has(facts.thp, KPF_COMPOUND_HEAD) && !has(facts.thp, KPF_COMPOUND_TAIL)).toBe(true);
    for (const p of thp.slice(1)) expect(has(p, KPF_COMPOUND_TAIL) && !has(p, KPF_COMPOUND_HEAD)).toBe(true);
    for (const p of thp) expect([KPF_THP, KPF_LRU, KPF_ACTIVE, KPF_SWAPBACKED].every((b) => has(p, b))).toBe(true);
    expect(pfnsWith(KPF_THP)).toEqual(thp);
  });

  it('a compound kernel allocation that is not large-rmappable is neither THP nor HUGE', () => {
    expect(has(facts.compound, KPF_COMPOUND_HEAD)).toBe(true);
    for (let i = 1; i < 8; i++) expect(flags[facts.compound + i]).toBe(bit(KPF_COMPOUND_TAIL));
    expect(flags[facts.compound]).toBe(bit(KPF_COMPOUND_HEAD));
  });

  it('balloon pages show OFFLINE and UPTODATE (PG_movable_ops); an isolated one also RECLAIM', () => {
    const offline = pfnsWith(KPF_OFFLINE);
    expect(offline).toHaveLength(facts.balloonPages);
    for (const p of offline) expect(flags[p]).toBe(bit(KPF_OFFLINE) | bit(KPF_UPTODATE));
    const page = offline[0]! as Pfn;
    expect(isolate_movable_ops_page(m, page, MIGRATE_MODE.MIGRATE_SYNC)).toBe(true);
    expect(BigInt(stable_page_flags(m, page))).toBe(bit(KPF_OFFLINE) | bit(KPF_UPTODATE) | bit(KPF_RECLAIM));
    putback_movable_ops_page(m, page);
    expect(BigInt(stable_page_flags(m, page))).toBe(bit(KPF_OFFLINE) | bit(KPF_UPTODATE));
  });

  it('zsmalloc pages show UPTODATE (movable_ops) and, on the first page of a zspage, PRIVATE; no OFFLINE', () => {
    const zs = flags.flatMap((_, p) => (m.memmap.mapcount[p]! >>> 24 === PGTY.zsmalloc && m.memmap.mapcount[p]! < 0 ? [p] : []));
    expect(zs.length).toBeGreaterThan(0);
    for (const p of zs) {
      expect(has(p, KPF_UPTODATE) && !has(p, KPF_OFFLINE)).toBe(true);
      expect(has(p, KPF_PRIVATE)).toBe((m.memmap.flags[p]! & (1 << 14)) !== 0);
    }
    expect(zs.some((p) => has(p, KPF_PRIVATE))).toBe(true);
  });

  it('memblock-reserved pages show RESERVED, a poisoned page HWPOISON', () => {
    expect(pfnsWith(KPF_RESERVED)).toEqual(Array.from({ length: 256 }, (_, i) => i)); // x86 reserves the first 1 MiB
    expect(pfnsWith(KPF_HWPOISON)).toEqual([facts.poisoned]);
  });
});

describe('PFNs without an online memmap and kpagecount', () => {
  it('ZONE_DEVICE PFNs and PFNs with no memmap read 0 in both files', () => {
    const mm = createMachine({ memory: '72M' }); // 18432 pages: the dump covers one 32768-page section
    mm.memmap.grow(20480);
    mm.memmap.flags.fill((zoneFlagsByte(0, ZONE.DEVICE) << 24) >>> 0, 18432, 20480); // a device range, as memremap_pages lays it out
    for (let p = 18432; p < 20480; p++) mm.memmap.refcount[p] = 1;
    const f = u64s(kpageflags_read(mm));
    const c = u64s(kpagecount_read(mm));
    expect(f).toHaveLength(32768);
    expect([...f.slice(18432), ...c.slice(18432)].every((v) => v === 0n)).toBe(true);
    expect(f.slice(0, 18432).some((v) => v !== 0n)).toBe(true);
  });

  it('kpagecount is the mapcount, not the refcount; MMAP follows it', () => {
    const mm = createMachine({ memory: '64M' });
    const p = alloc_page(mm, GFP_KERNEL);
    if (p === -1) throw new Error('alloc');
    // Two PTE mappings, each holding a reference, as a fault would install them (_mapcount = 1).
    folio_get(mm, p as never);
    folio_get(mm, p as never);
    mm.memmap.mapcount[p] = 1;
    expect(u64s(kpagecount_read(mm))[p]).toBe(2n);
    expect(mm.memmap.refcount[p]).toBe(3);
    expect(BigInt(stable_page_flags(mm, p)) & bit(KPF_MMAP)).toBe(bit(KPF_MMAP));
    expect(count[facts.thp]).toBe(0n); // the scenario maps nothing
  });
});
