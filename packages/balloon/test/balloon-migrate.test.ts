import {
  EAGAIN,
  EBUSY,
  EINVAL,
  ENOENT,
  GFP,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  ISOLATE,
  MIGRATE_MODE,
  MmError,
  NR_NODE,
  PG,
  PageListHeads,
  PageMovableOps,
  PageMovableOpsIsolated,
  PageOffline,
  VM_EVENT,
  alloc_page,
  alloc_pages_node,
  id_ptr,
  isolate_movable_ops_page,
  migrate_movable_ops_page,
  page_has_movable_ops,
  page_to_nid,
  page_zone,
  put_page,
  putback_movable_ops_page,
  type Machine,
  type MigrateMode,
  type Pfn,
} from '@mm/core';
import { describe, expect, it } from 'vitest';
import {
  balloon_devinfo_init,
  balloon_page_alloc,
  balloon_page_dequeue,
  balloon_page_enqueue,
  balloon_page_list_dequeue,
  type BalloonDevInfo,
} from '../src/index.js';
import { STRATEGIES, balloonStat, boot, expectUnchanged, freePages, listPfns, migrateOne, snapshot } from './helpers.js';

const MODE = ISOLATE.ISOLATE_UNEVICTABLE;

/** A device whose driver answers migrations with `answer` and records the calls. */
function device(m: Machine, answer: () => number = () => 0, adjust = true) {
  const calls: [number, number, MigrateMode][] = [];
  const b = balloon_devinfo_init(m, {
    name: 'test',
    adjust_managed_page_count: adjust,
    migratepage: (_b, newpage, page, mode) => {
      calls.push([newpage, page, mode]);
      return answer();
    },
  });
  return { b, calls };
}

function inflate(m: Machine, b: BalloonDevInfo, n: number): Pfn[] {
  return Array.from({ length: n }, () => {
    const p = balloon_page_alloc(m) as Pfn;
    balloon_page_enqueue(m, b, p);
    return p;
  });
}

describe.each(STRATEGIES)('migration through the core movable_ops calls (%s)', (strategy) => {
  it('isolate → migrate: the new page is inflated, the old one freed; NR_BALLOON_PAGES is not touched', () => {
    const m = boot({ strategy });
    const { b, calls } = device(m);
    const pages = inflate(m, b, 8);
    const src = pages[3]!;
    const free0 = freePages(m);
    expect(isolate_movable_ops_page(m, src, MODE)).toBe(true);
    expect(PageMovableOpsIsolated(m, src)).toBe(true);
    expect(m.memmap.refcount[src]).toBe(2); // balloon reference + isolation reference
    expect(b.isolated_pages).toBe(1);
    expect(listPfns(m, b.pages)).not.toContain(src); // an isolated page is never on the list
    expect(b.nrInflated).toBe(8);

    const { rc, dst } = migrateOne(m, src);
    expect(rc).toBe(0);
    expect(calls).toEqual([[dst, src, MIGRATE_MODE.MIGRATE_SYNC]]);
    expect(listPfns(m, b.pages)[0]).toBe(dst); // balloon_page_insert: list_add at the head
    expect(PageOffline(m, dst)).toBe(true);
    expect(PageMovableOps(m, dst)).toBe(true);
    expect(m.memmap.private[dst]).toBe(id_ptr(b.id));
    expect(m.memmap.refcount[dst]).toBe(1); // only the balloon's reference is left
    expect(m.memmap.refcount[src]).toBe(0); // freed: balloon ref dropped by the balloon, isolation ref by the core
    expect(PageOffline(m, src)).toBe(false);
    expect(b.isolated_pages).toBe(0);
    expect(b.nrListed).toBe(8);
    expect(m.vmEvents[VM_EVENT.balloon_migrate]).toBe(1);
    expect(m.vmEvents[VM_EVENT.balloon_inflate]).toBe(8);
    expect(m.vmEvents[VM_EVENT.balloon_deflate]).toBe(0);
    expect(balloonStat(m)).toBe(8);
    expect(freePages(m)).toBe(free0); // one page in, one page out
  });

  it('putback returns an isolated page to the list', () => {
    const m = boot({ strategy });
    const { b, calls } = device(m);
    const [p] = inflate(m, b, 1);
    expect(isolate_movable_ops_page(m, p!, MODE)).toBe(true);
    putback_movable_ops_page(m, p!);
    expect(listPfns(m, b.pages)).toEqual([p]);
    expect(b.isolated_pages).toBe(0);
    expect(PageMovableOpsIsolated(m, p!)).toBe(false);
    expect(m.memmap.refcount[p!]).toBe(1);
    expect(calls).toEqual([]);
  });

  it('isolation fails for a deflated page, whose PageOffline and PG_movable_ops are sticky', () => {
    const m = boot({ strategy });
    const { b } = device(m);
    inflate(m, b, 2);
    const p = balloon_page_dequeue(m, b) as Pfn;
    expect(page_has_movable_ops(m, p)).toBe(true); // the core still sees a movable_ops page …
    const before = snapshot(m, [b]);
    expect(isolate_movable_ops_page(m, p, MODE)).toBe(false); // … but the balloon refuses: private is NULL
    expectUnchanged(m, [b], before);
    put_page(m, p);
  });

  it('deflating while a page is isolated never returns the isolated page', () => {
    const m = boot({ strategy });
    const { b } = device(m);
    const pages = inflate(m, b, 4);
    const iso = pages[1]!;
    expect(isolate_movable_ops_page(m, iso, MODE)).toBe(true);
    const got = new PageListHeads(1);
    expect(balloon_page_list_dequeue(m, b, got, 4)).toBe(3);
    expect(listPfns(m, got)).not.toContain(iso);
    expect(balloon_page_dequeue(m, b)).toBe(-1); // list empty, one page isolated: NULL, no BUG
    expect(b.nrInflated).toBe(1);
    putback_movable_ops_page(m, iso);
    expect(balloon_page_dequeue(m, b)).toBe(iso);
  });

  it('a page deflated around an isolated one still migrates, and is then the only inflated page', () => {
    const m = boot({ strategy });
    const { b } = device(m);
    const pages = inflate(m, b, 3);
    expect(isolate_movable_ops_page(m, pages[0]!, MODE)).toBe(true);
    const got = new PageListHeads(1);
    expect(balloon_page_list_dequeue(m, b, got, 3)).toBe(2);
    const { rc, dst } = migrateOne(m, pages[0]!);
    expect(rc).toBe(0);
    expect(listPfns(m, b.pages)).toEqual([dst]);
    expect(b.nrInflated).toBe(1);
  });

  it('-ENOENT: the old page is deflated, the new one is not inflated', () => {
    const m = boot({ strategy });
    const { b } = device(m, () => -ENOENT);
    const pages = inflate(m, b, 4);
    const zone = page_zone(m, pages[0]!);
    const managed = zone.managed_pages;
    const free0 = freePages(m);
    expect(isolate_movable_ops_page(m, pages[0]!, MODE)).toBe(true);
    const { rc, dst } = migrateOne(m, pages[0]!);
    expect(rc).toBe(0); // balloon_page_migrate turns -ENOENT into success for the core
    expect(m.memmap.refcount[dst]).toBe(0); // the core's folio_put(dst) freed the unused target
    expect(m.memmap.refcount[pages[0]!]).toBe(0);
    expect(b.isolated_pages).toBe(0);
    expect(b.nrInflated).toBe(3);
    expect(m.vmEvents[VM_EVENT.balloon_deflate]).toBe(1);
    expect(m.vmEvents[VM_EVENT.balloon_migrate]).toBe(0);
    expect(zone.managed_pages).toBe(managed + 1);
    expect(freePages(m)).toBe(free0 + 1);
    // The kernel does not decrement NR_BALLOON_PAGES here (kernel-semantics §7.3).
    expect(balloonStat(m)).toBe(4);
  });

  it('a driver refusing (-EBUSY) leaves the page isolated for the core to retry or put back', () => {
    let answer = -EBUSY;
    const m = boot({ strategy });
    const { b, calls } = device(m, () => answer);
    const [p] = inflate(m, b, 2);
    expect(isolate_movable_ops_page(m, p!, MODE)).toBe(true);
    const free0 = freePages(m);
    const { rc } = migrateOne(m, p!);
    expect(rc).toBe(-EBUSY);
    expect(PageMovableOpsIsolated(m, p!)).toBe(true);
    expect(b.isolated_pages).toBe(1);
    expect(m.memmap.refcount[p!]).toBe(2);
    expect(freePages(m)).toBe(free0); // the unused target went back
    expect(m.vmEvents[VM_EVENT.balloon_migrate] + m.vmEvents[VM_EVENT.balloon_deflate]).toBe(0);
    answer = -EAGAIN;
    expect(migrateOne(m, p!).rc).toBe(-EAGAIN);
    answer = 0;
    expect(migrateOne(m, p!).rc).toBe(0); // the retry succeeds
    expect(calls).toHaveLength(3);
    expect(b.isolated_pages).toBe(0);
  });

  it('a refused page can be put back instead', () => {
    const m = boot({ strategy });
    const { b } = device(m, () => -EBUSY);
    const [p] = inflate(m, b, 1);
    expect(isolate_movable_ops_page(m, p!, MODE)).toBe(true);
    expect(migrateOne(m, p!).rc).toBe(-EBUSY);
    putback_movable_ops_page(m, p!);
    expect(listPfns(m, b.pages)).toEqual([p]);
    expect(m.memmap.refcount[p!]).toBe(1);
  });

  it('moves a managed page between zones when it migrates across them (adjust_managed_page_count)', () => {
    for (const adjust of [true, false]) {
      const m = boot({ strategy });
      const { b } = device(m, () => 0, adjust);
      const [src] = inflate(m, b, 1);
      const dst = alloc_page(m, GFP.__GFP_DMA) as Pfn;
      const zs = page_zone(m, src!);
      const zd = page_zone(m, dst);
      expect(zs === zd).toBe(false);
      const [ms, md] = [zs.managed_pages, zd.managed_pages];
      expect(isolate_movable_ops_page(m, src!, MODE)).toBe(true);
      expect(migrateOne(m, src!, dst).rc).toBe(0);
      expect([zs.managed_pages - ms, zd.managed_pages - md]).toEqual(adjust ? [1, -1] : [0, 0]);
    }
  });

  it('migration to another node leaves NR_BALLOON_PAGES on the old node (not moved, §7.3)', () => {
    const m = boot({ strategy, memory: '128M', nodes: 2 });
    const { b } = device(m);
    const [src] = inflate(m, b, 1);
    const other = 1 - page_to_nid(m, src!);
    const dst = alloc_pages_node(m, other, GFP_HIGHUSER_MOVABLE, 0) as Pfn;
    expect(page_to_nid(m, dst)).toBe(other);
    expect(isolate_movable_ops_page(m, src!, MODE)).toBe(true);
    expect(migrateOne(m, src!, dst).rc).toBe(0);
    expect(m.nodes[other]!.vmstat[NR_NODE.nr_balloon_pages]).toBe(0);
    expect(m.nodes[1 - other]!.vmstat[NR_NODE.nr_balloon_pages]).toBe(1);
    // Deflating the new page then takes the stat on its own node below zero, as the kernel's would.
    put_page(m, balloon_page_dequeue(m, b) as Pfn);
    expect(m.nodes[other]!.vmstat[NR_NODE.nr_balloon_pages]).toBe(-1);
    expect(balloonStat(m)).toBe(0);
  });

  it('never isolates pages of a device without migratepage', () => {
    const m = boot({ strategy });
    const b = balloon_devinfo_init(m);
    const [p] = inflate(m, b, 1);
    expect(isolate_movable_ops_page(m, p!, MODE)).toBe(false);
    expect(b.isolated_pages).toBe(0);
  });

  it('rejects a bad migration target or a driver answer outside the contract, changing nothing', () => {
    const m = boot({ strategy });
    const { b, calls } = device(m, () => 1);
    const [p] = inflate(m, b, 2);
    expect(isolate_movable_ops_page(m, p!, MODE)).toBe(true);
    const inflated = listPfns(m, b.pages)[0]! as Pfn;
    const fresh = alloc_page(m, GFP_KERNEL) as Pfn;
    const before = snapshot(m, [b]);
    for (const dst of [inflated, fresh]) {
      let err: unknown;
      try {
        migrate_movable_ops_page(m, dst, p!, MIGRATE_MODE.MIGRATE_SYNC);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MmError);
      expect((err as MmError).errno).toBe(EINVAL);
      expect((err as MmError).message).toMatch(dst === inflated ? /not a fresh order-0 page/ : /returned 1/);
    }
    expect(calls).toHaveLength(1);
    expectUnchanged(m, [b], before);
    expect(m.memmap.flags[p!]! & (1 << PG.movable_ops_isolated)).not.toBe(0);
  });
});
