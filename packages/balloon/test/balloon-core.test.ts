import {
  EINVAL,
  ENODEV,
  GFP,
  GFP_KERNEL,
  ISOLATE,
  MIGRATE_MOVABLE,
  MIGRATE_UNMOVABLE,
  NR_NODE,
  PGTY,
  PageListHeads,
  PageBuddy,
  PageMovableOps,
  PageOffline,
  ProcfsContributor,
  VM_EVENT,
  __ClearPageZsmalloc,
  __SetPageOffline,
  __SetPageZsmalloc,
  __free_page,
  __free_pages,
  alloc_page,
  alloc_pages,
  createMachine,
  get_pfnblock_migratetype,
  id_ptr,
  isolate_movable_ops_page,
  list_add,
  list_del,
  page_has_movable_ops,
  put_page,
  type Machine,
  type Pfn,
  catchMmError,
} from '@mm/core';
import { describe, expect, it } from 'vitest';
import {
  BalloonMops,
  balloon_devinfo_init,
  balloon_page_alloc,
  balloon_page_dequeue,
  balloon_page_device,
  balloon_page_enqueue,
  balloon_page_finalize,
  balloon_page_insert,
  balloon_page_list_dequeue,
  balloon_page_list_enqueue,
  type BalloonDevInfo,
} from '../src/index.js';
import { STRATEGIES, balloonStat, boot, expectUnchanged, freePages, listPfns, managedPages, snapshot } from './helpers.js';

const ok = () => 0;

function inflate(m: Machine, b: BalloonDevInfo, n: number): Pfn[] {
  const pages: Pfn[] = [];
  for (let i = 0; i < n; i++) {
    const p = balloon_page_alloc(m);
    if (p === -1) throw new Error('allocation failed');
    balloon_page_enqueue(m, b, p);
    pages.push(p);
  }
  return pages;
}

function expectMmError(fn: () => unknown, errno: number, text: RegExp): void {
  const err = catchMmError(fn);
  expect(err.errno).toBe(errno);
  expect(err.message).toMatch(text);
}

describe.each(STRATEGIES)('inflate and deflate (%s)', (strategy) => {
  it('inflates, deflates and gives every page back to the buddy allocator; PageOffline goes only with the free', () => {
    const m = boot({ strategy });
    const b = balloon_devinfo_init(m, { migratepage: ok, adjust_managed_page_count: true });
    const free0 = freePages(m);
    const managed0 = managedPages(m);
    const pages = inflate(m, b, 24);
    for (const p of pages) {
      expect(PageOffline(m, p)).toBe(true);
      expect(PageMovableOps(m, p)).toBe(true);
      expect(m.memmap.private[p]).toBe(id_ptr(b.id));
      expect(m.memmap.refcount[p]).toBe(1); // the driver's reference from balloon_page_alloc
      expect(get_pfnblock_migratetype(m, p)).toBe(MIGRATE_MOVABLE); // GFP_HIGHUSER_MOVABLE
    }
    expect(b.nrListed).toBe(24);
    expect(m.vmEvents[VM_EVENT.balloon_inflate]).toBe(24);
    expect(balloonStat(m)).toBe(24);
    expect(managedPages(m)).toBe(managed0 - 24); // adjust_managed_page_count(page, -1) per page
    expect(freePages(m)).toBe(free0 - 24);

    const list = new PageListHeads(1);
    expect(balloon_page_list_dequeue(m, b, list, 16)).toBe(16);
    const out = listPfns(m, list);
    expect(out).toHaveLength(16);
    for (const p of out) {
      expect(PageOffline(m, p as Pfn)).toBe(true); // sticky until freed (series 2)
      expect(m.memmap.private[p]).toBe(0); // balloon_page_finalize
    }
    for (let i = 0; i < 8; i++) {
      const p = balloon_page_dequeue(m, b);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(PageOffline(m, p as Pfn)).toBe(true);
      put_page(m, p as Pfn);
      expect(PageOffline(m, p as Pfn)).toBe(false); // the allocator cleared the type
      expect(m.memmap.refcount[p]).toBe(0);
    }
    for (const p of out) {
      list_del_and_put(m, list, p as Pfn);
      expect(PageOffline(m, p as Pfn)).toBe(false);
    }
    expect(m.vmEvents[VM_EVENT.balloon_deflate]).toBe(24);
    expect(balloonStat(m)).toBe(0);
    expect(managedPages(m)).toBe(managed0);
    expect(freePages(m)).toBe(free0);
    for (const p of pages) expect(m.memmap.mapcount[p] === -1 || PageBuddy(m, p)).toBe(true);
    expect(m.nrBadPages).toBe(0);
  });

  it('dequeues the most recently enqueued page first (list_add at the head)', () => {
    const m = boot({ strategy });
    const b = balloon_devinfo_init(m, { migratepage: ok });
    const [a, bb, c] = inflate(m, b, 3);
    expect(listPfns(m, b.pages)).toEqual([c, bb, a]);
    expect(balloon_page_dequeue(m, b)).toBe(c);
    expect(listPfns(m, b.pages)).toEqual([bb, a]);
  });

  it('lets a dequeued page that is still PageOffline (sticky) be enqueued again, as the kernel does', () => {
    const m = boot({ strategy });
    const b = balloon_devinfo_init(m, { migratepage: ok });
    const [p] = inflate(m, b, 1);
    expect(balloon_page_dequeue(m, b)).toBe(p);
    expect(PageOffline(m, p!)).toBe(true);
    balloon_page_enqueue(m, b, p!);
    expect(listPfns(m, b.pages)).toEqual([p]);
    expect(m.memmap.private[p!]).toBe(id_ptr(b.id));
    expect(m.vmEvents[VM_EVENT.balloon_inflate]).toBe(2);
    expect(balloonStat(m)).toBe(1);
  });

  it('balloon_page_list_enqueue takes every page off the caller list', () => {
    const m = boot({ strategy });
    const b = balloon_devinfo_init(m, { migratepage: ok });
    const mine = new PageListHeads(1);
    const pages = [0, 1, 2].map(() => balloon_page_alloc(m) as Pfn);
    for (const p of pages) list_add(m.memmap.lru, m.memmap.lruPrev, mine, 0, p);
    expect(balloon_page_list_enqueue(m, b, mine)).toBe(3);
    expect(mine.counts[0]).toBe(0);
    expect(new Set(listPfns(m, b.pages))).toEqual(new Set(pages));
    expect(m.vmEvents[VM_EVENT.balloon_inflate]).toBe(3);
    expect(balloon_page_list_dequeue(m, b, new PageListHeads(1), 10)).toBe(3); // fewer than asked: not an error
  });

  it('keeps several devices apart', () => {
    const m = boot({ strategy });
    const b1 = balloon_devinfo_init(m, { name: 'one', migratepage: ok });
    const b2 = balloon_devinfo_init(m, { name: 'two', migratepage: ok });
    const p1 = inflate(m, b1, 5);
    const p2 = inflate(m, b2, 7);
    expect(b1.id).not.toBe(b2.id);
    for (const p of p1) expect(balloon_page_device(m, p)).toBe(b1);
    for (const p of p2) expect(balloon_page_device(m, p)).toBe(b2);
    expect(balloonStat(m)).toBe(12);
    const got = new PageListHeads(1);
    expect(balloon_page_list_dequeue(m, b1, got, 100)).toBe(5);
    expect(new Set(listPfns(m, got))).toEqual(new Set(p1));
    expect(b2.nrListed).toBe(7);
    expect(balloon_page_device(m, p1[0]!)).toBeNull();
  });
});

/** `release_pages_balloon()`: take the page off the driver's list, then drop the balloon reference. */
function list_del_and_put(m: Machine, list: PageListHeads, p: Pfn): void {
  list_del_core(m, list, p);
  put_page(m, p);
}

function list_del_core(m: Machine, list: PageListHeads, p: Pfn): void {
  list_del(m.memmap.lru, m.memmap.lruPrev, list, 0, p);
}

describe.each(STRATEGIES)('page types on free (%s)', (strategy) => {
  it('without sticky page types (pre-6.17) finalize clears PageOffline and PG_movable_ops before the free', () => {
    const m = boot({ strategy, stickyPageTypes: false });
    const b = balloon_devinfo_init(m, { migratepage: ok });
    const free0 = freePages(m);
    inflate(m, b, 4);
    const p = balloon_page_dequeue(m, b) as Pfn;
    expect(PageOffline(m, p)).toBe(false);
    expect(PageMovableOps(m, p)).toBe(false);
    __free_page(m, p);
    expect(m.nrBadPages).toBe(0);
    const l = new PageListHeads(1);
    balloon_page_list_dequeue(m, b, l, 3);
    for (const q of listPfns(m, l)) {
      expect(PageOffline(m, q as Pfn)).toBe(false);
      list_del_core(m, l, q as Pfn);
      __free_page(m, q as Pfn);
    }
    expect(m.nrBadPages).toBe(0);
    expect(freePages(m)).toBe(free0);
  });

  it('without sticky page types a PageOffline page reaching the allocator is a bad page (why finalize clears it)', () => {
    const m = boot({ strategy, stickyPageTypes: false, debugVm: false });
    const p = alloc_page(m, GFP_KERNEL) as Pfn;
    __SetPageOffline(m, p);
    __free_page(m, p);
    expect(m.nrBadPages).toBe(1);
  });
});

describe('configuration', () => {
  it('without balloon migration: GFP_HIGHUSER, no movable_ops, no private, never isolated', () => {
    const m = boot({}, { migration: false });
    expect(m.movableOps[PGTY.offline]).toBeNull();
    const b = balloon_devinfo_init(m);
    const [p] = inflate(m, b, 1);
    expect(get_pfnblock_migratetype(m, p!)).toBe(MIGRATE_UNMOVABLE); // GFP_HIGHUSER has no __GFP_MOVABLE
    expect(PageOffline(m, p!)).toBe(true);
    expect(PageMovableOps(m, p!)).toBe(false);
    expect(m.memmap.private[p!]).toBe(0);
    expect(page_has_movable_ops(m, p!)).toBe(false);
    expect(isolate_movable_ops_page(m, p!, ISOLATE.ISOLATE_UNEVICTABLE)).toBe(false);
    const before = snapshot(m, [b]);
    expectMmError(() => balloon_page_enqueue(m, b, p!), EINVAL, /already inflated \(on a balloon list\)/);
    expectUnchanged(m, [b], before);
    expect(balloon_page_dequeue(m, b)).toBe(p);
  });

  it('registers balloon_mops for PGTY_offline through DI, one per machine', () => {
    const m1 = boot();
    const m2 = boot();
    expect(m1.movableOps[PGTY.offline]).toBeInstanceOf(BalloonMops);
    expect(m1.movableOps[PGTY.offline] === m2.movableOps[PGTY.offline]).toBe(false); // (toBe on two machines' objects would deep-compare them)
    const b1 = balloon_devinfo_init(m1);
    expect(balloon_devinfo_init(m2).id).toBe(b1.id); // registries are per machine
  });

  it('reads its options from pluginOptions.balloon too', () => {
    const m = boot({ pluginOptions: { balloon: { migration: false } } });
    expect(m.movableOps[PGTY.offline]).toBeNull();
  });

  it('contributes the Balloon: meminfo line in kB, per machine and per node', () => {
    const m = boot({ memory: '128M', nodes: 2 });
    const b = balloon_devinfo_init(m, { migratepage: ok });
    inflate(m, b, 10);
    const c = m.container.resolveAll<ProcfsContributor>(ProcfsContributor).find((x) => x.name === 'balloon')!;
    expect(c.meminfo!(m, null)).toEqual({ Balloon: 40 }); // 10 pages × 4 kB
    const perNode = [0, 1].map((nid) => c.meminfo!(m, nid)['Balloon']!);
    expect(perNode[0]! + perNode[1]!).toBe(40);
    expect(perNode).toEqual(m.nodes.map((n) => n.vmstat[NR_NODE.nr_balloon_pages]! * 4));
  });
});

describe.each(STRATEGIES)('bad input changes nothing (%s)', (strategy) => {
  it('enqueueing a page twice, into the same or another balloon', () => {
    const m = boot({ strategy });
    const b1 = balloon_devinfo_init(m, { migratepage: ok });
    const b2 = balloon_devinfo_init(m, { migratepage: ok });
    const [p] = inflate(m, b1, 1);
    const before = snapshot(m, [b1, b2]);
    expectMmError(() => balloon_page_enqueue(m, b1, p!), EINVAL, /already inflated in balloon 1/);
    expectMmError(() => balloon_page_enqueue(m, b2, p!), EINVAL, /already inflated/);
    expectMmError(() => balloon_page_insert(m, b2, p!), EINVAL, /already inflated/);
    expectUnchanged(m, [b1, b2], before);
  });

  it('enqueueing a free, compound, typed or listed page, or into a foreign device', () => {
    const m = boot({ strategy });
    const other = boot({ strategy });
    const b = balloon_devinfo_init(m, { migratepage: ok });
    const foreign = balloon_devinfo_init(other, { migratepage: ok });
    const compound = alloc_pages(m, GFP_KERNEL | GFP.__GFP_COMP, 2) as Pfn;
    const typed = alloc_page(m, GFP_KERNEL) as Pfn;
    __SetPageZsmalloc(m, typed);
    const listed = alloc_page(m, GFP_KERNEL) as Pfn;
    const mine = new PageListHeads(1);
    list_add(m.memmap.lru, m.memmap.lruPrev, mine, 0, listed);
    const fresh = alloc_page(m, GFP_KERNEL) as Pfn;
    const freed = alloc_page(m, GFP_KERNEL) as Pfn;
    __free_page(m, freed);
    const before = snapshot(m, [b]);
    expectMmError(() => balloon_page_enqueue(m, b, freed), EINVAL, /refcount 0/);
    expectMmError(() => balloon_page_enqueue(m, b, compound), EINVAL, /compound/);
    expectMmError(() => balloon_page_enqueue(m, b, (compound + 1) as Pfn), EINVAL, /compound/);
    expectMmError(() => balloon_page_enqueue(m, b, typed), EINVAL, /type 0xf6/);
    expectMmError(() => balloon_page_enqueue(m, b, listed), EINVAL, /lru is in use/);
    expectMmError(() => balloon_page_enqueue(m, foreign, fresh), EINVAL, /not a balloon device of this machine/);
    expectMmError(() => balloon_page_enqueue(m, b, 1e9 as Pfn), EINVAL, /no struct page/);
    expectUnchanged(m, [b], before);
    __ClearPageZsmalloc(m, typed);
    __free_pages(m, compound, 2);
  });

  it('a list with one bad page enqueues none of them', () => {
    const m = boot({ strategy });
    const b = balloon_devinfo_init(m, { migratepage: ok });
    const compound = alloc_pages(m, GFP_KERNEL | GFP.__GFP_COMP, 1) as Pfn;
    const mine = new PageListHeads(1);
    const good = [balloon_page_alloc(m) as Pfn, balloon_page_alloc(m) as Pfn];
    list_add(m.memmap.lru, m.memmap.lruPrev, mine, 0, good[0]!);
    list_add(m.memmap.lru, m.memmap.lruPrev, mine, 0, compound);
    list_add(m.memmap.lru, m.memmap.lruPrev, mine, 0, good[1]!);
    const before = snapshot(m, [b]);
    expectMmError(() => balloon_page_list_enqueue(m, b, mine), EINVAL, /compound/);
    expectUnchanged(m, [b], before);
    expect(mine.counts[0]).toBe(3);
  });

  it('deflating more than was inflated', () => {
    const m = boot({ strategy });
    const b = balloon_devinfo_init(m, { migratepage: ok });
    inflate(m, b, 2);
    put_page(m, balloon_page_dequeue(m, b) as Pfn);
    put_page(m, balloon_page_dequeue(m, b) as Pfn);
    const before = snapshot(m, [b]);
    expectMmError(() => balloon_page_dequeue(m, b), EINVAL, /has no inflated page/);
    expectMmError(() => balloon_page_list_dequeue(m, b, new PageListHeads(1), -1), EINVAL, /n_req_pages -1/);
    expectMmError(() => balloon_page_list_dequeue(m, b, new PageListHeads(1), 1.5), EINVAL, /n_req_pages 1.5/);
    expectUnchanged(m, [b], before);
  });

  it('finalizing a page that is not in the balloon', () => {
    const m = boot({ strategy });
    const b = balloon_devinfo_init(m, { migratepage: ok });
    const [listed, isolated, deflated] = inflate(m, b, 3);
    expect(balloon_page_dequeue(m, b)).toBe(deflated);
    expect(isolate_movable_ops_page(m, isolated!, ISOLATE.ISOLATE_UNEVICTABLE)).toBe(true);
    const plain = alloc_page(m, GFP_KERNEL) as Pfn;
    const before = snapshot(m, [b]);
    expectMmError(() => balloon_page_finalize(m, plain), EINVAL, /not PageOffline/);
    expectMmError(() => balloon_page_finalize(m, deflated!), EINVAL, /names no balloon device/);
    expectMmError(() => balloon_page_finalize(m, listed!), EINVAL, /still on a list/);
    expectMmError(() => balloon_page_finalize(m, isolated!), EINVAL, /isolated for migration/);
    expectUnchanged(m, [b], before);
  });

  it('a machine without the plugin has no balloon', () => {
    const m = createMachine({ memory: '64M' });
    expectMmError(() => balloon_devinfo_init(m), ENODEV, /no balloon support/);
  });
});
