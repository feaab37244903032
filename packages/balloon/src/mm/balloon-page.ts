import {
  EINVAL,
  MmError,
  NR_NODE,
  PAGE_TYPE_NONE,
  PG,
  PageOffline,
  SetPageMovableOps,
  __ClearPageOffline,
  __SetPageOffline,
  assertValidPfn,
  id_ptr,
  list_add,
  page_get_type,
  page_to_nid,
  page_zone,
  ptr_id,
  type Machine,
  type Pfn,
} from '@mm/core';
import type { BalloonDevInfo } from './balloon-dev-info.js';
import { BalloonState } from './balloon-state.js';

/**
 * Balloon page helpers (`mm/balloon.c`, 2026, and `include/linux/balloon.h`): the single insert
 * helper, finalize, the device lookup through `page->private`, and the accounting every inflate and
 * deflate does.
 *
 * @module
 */

const HEAD = 1 << PG.head;
const MOVABLE_OPS = 1 << PG.movable_ops;
const ISOLATED = 1 << PG.movable_ops_isolated;

function reject(fn: string, page: number, what: string, rule: string): never {
  throw new MmError(EINVAL, `${fn}: ${what}`, { pfn: page, rule });
}

/** Throw unless `b` is a balloon device of machine `m`. */
export function assertDevice(m: Machine, b: BalloonDevInfo, fn: string): void {
  if (b === null || typeof b !== 'object' || b.machine !== m) {
    throw new MmError(EINVAL, `${fn}: not a balloon device of this machine`, { rule: 'b_dev_info comes from balloon_devinfo_init(m)' });
  }
}

/**
 * Throw `MmError(EINVAL)` unless `page` can become a balloon page: a valid order-0 page the caller
 * holds (refcount ≥ 1, as `balloon_page_alloc` returns it), not inflated in any balloon (enqueueing
 * twice would corrupt the list: its `private` names a device, or it sits on a device's list), without
 * a page type other than PageOffline, and, unless it sits on the caller's own list (`onCallerList`),
 * with `page->lru` unused (the kernel's "drivers must not enqueue pages while page->lru is still in
 * use"). A page that was dequeued but not yet freed is still PageOffline (sticky) with a NULL
 * `private`; the kernel lets a driver enqueue it again (`__SetPageOffline` of a PageOffline page is a
 * no-op), and so does the model: the VMware driver does that with pages the hypervisor refused.
 */
export function assertNewBalloonPage(m: Machine, page: number, fn: string, onCallerList: boolean): asserts page is Pfn {
  assertValidPfn(m, page, fn);
  const mm = m.memmap;
  if ((mm.lru[page]! & 1) !== 0 || (mm.flags[page]! & HEAD) !== 0) reject(fn, page, 'a compound page', 'balloon pages are order-0 pages');
  if (mm.refcount[page]! < 1) reject(fn, page, `page with refcount ${mm.refcount[page]}`, 'the driver holds the page (balloon_page_alloc returns it with refcount 1)');
  const v = mm.mapcount[page]!;
  const listed = mm.lru[page] !== 0 || mm.lruPrev[page] !== 0;
  if (PageOffline(m, page)) {
    const id = ptr_id(mm.private[page]!);
    if (id > 0) reject(fn, page, `page is already inflated in balloon ${id}`, 'a page is enqueued once (§13 §7.1)');
    if (listed && !onCallerList) reject(fn, page, 'page is already inflated (on a balloon list)', 'a page is enqueued once (§13 §7.1)');
  } else if (v !== PAGE_TYPE_NONE) {
    const t = page_get_type(m, page);
    reject(fn, page, t !== null ? `page has type 0x${t.toString(16)}` : `page is mapped (_mapcount ${v})`, 'balloon pages are unmapped pages without another type');
  }
  if (listed && !onCallerList) reject(fn, page, 'page->lru is in use', 'page->lru is unused when a page is enqueued');
}

/**
 * `balloon_page_insert(b_dev_info, page)` without checks: `__SetPageOffline`; with balloon migration
 * `SetPageMovableOps` and `page->private = b_dev_info`; `list_add` to `b.pages`.
 */
export function insertPage(m: Machine, b: BalloonDevInfo, page: Pfn): void {
  __SetPageOffline(m, page);
  if (b.migration) {
    SetPageMovableOps(m, page);
    m.memmap.private[page] = id_ptr(b.id);
  }
  list_add(m.memmap.lru, m.memmap.lruPrev, b.pages, 0, page);
}

/**
 * `balloon_page_insert(b_dev_info, page)` (`mm/balloon.c`; the single insert helper since series 2,
 * patch 29): mark the page PageOffline, and with balloon migration PageMovableOps with
 * `page->private` naming the device, then add it to the device's list. It counts nothing: use
 * {@link balloon_page_enqueue} to inflate. `MmError(EINVAL)` for a page that cannot be inserted
 * (see `assertNewBalloonPage`); nothing changes then.
 */
export function balloon_page_insert(m: Machine, b: BalloonDevInfo, page: Pfn): void {
  assertDevice(m, b, 'balloon_page_insert');
  assertNewBalloonPage(m, page, 'balloon_page_insert', false);
  insertPage(m, b, page);
  if (m.debugVm) m.checkInvariants('balloon_page_insert');
}

/**
 * `balloon_page_finalize(page)` without checks. Series 2 (v6.17): clear `private` and leave
 * PageOffline set, sticky until the allocator frees the page. With `stickyPageTypes: false` the
 * machine runs the pre-6.17 rules, under which the free path rejects a typed page, so this does what
 * the old `balloon_page_delete()` did for the driver: `__ClearPageOffline()` and clear the movable
 * marker (`__ClearPageMovable()`, here PG_movable_ops).
 */
export function finalizePage(m: Machine, page: Pfn): void {
  m.memmap.private[page] = 0;
  if (!m.stickyPageTypes) {
    __ClearPageOffline(m, page);
    m.memmap.flags[page]! &= ~MOVABLE_OPS;
  }
}

/**
 * `balloon_page_finalize(page)` (`mm/balloon.c`; replaced `balloon_page_delete()` in series 2,
 * patch 2): prepare a balloon page that was already taken off its device's list for release to the
 * page allocator: `private` is cleared and PageOffline stays (sticky until freed, §1.7). It does not
 * touch list membership or counters. Under `stickyPageTypes: false` it also clears PageOffline and
 * PG_movable_ops, as pre-6.17 kernels did (see `finalizePage`).
 *
 * `MmError(EINVAL)`, with nothing changed, for a page that is not a balloon page taken off its list:
 * not PageOffline, `private` naming no device of this machine (with balloon migration), still
 * linked on the device's list, or isolated for migration (the migration core owns it).
 */
export function balloon_page_finalize(m: Machine, page: Pfn): void {
  const fn = 'balloon_page_finalize';
  assertValidPfn(m, page, fn);
  const mm = m.memmap;
  if (!PageOffline(m, page)) reject(fn, page, 'page is not PageOffline', 'only balloon pages are finalized');
  const state = m.container.isRegistered(BalloonState, true) ? m.container.resolve(BalloonState) : null;
  if (state?.migration && state.device(ptr_id(mm.private[page]!)) === null) {
    reject(fn, page, 'page->private names no balloon device', 'only inflated pages are finalized, once');
  }
  if (mm.lru[page] !== 0) reject(fn, page, 'page is still on a list', 'take the page off the balloon list (dequeue) before finalizing');
  if ((mm.flags[page]! & ISOLATED) !== 0) reject(fn, page, 'page is isolated for migration', 'the migration core owns isolated pages');
  finalizePage(m, page);
  if (m.debugVm) m.checkInvariants(fn);
}

/**
 * `balloon_page_device(page)` (`mm/balloon.c`): the device named by `page->private`, or null if the
 * page is not (or no longer) inflated. Only meaningful with balloon migration, which sets `private`.
 */
export function balloon_page_device(m: Machine, page: Pfn): BalloonDevInfo | null {
  assertValidPfn(m, page, 'balloon_page_device');
  if (!m.container.isRegistered(BalloonState, true)) return null;
  return m.container.resolve(BalloonState).device(ptr_id(m.memmap.private[page]!));
}

/**
 * `adjust_managed_page_count(page, count)` (`mm/page_alloc.c`): add `count` to `managed_pages` of the
 * page's zone. The kernel also adjusts `totalram_pages`, which the core does not model (MemTotal is
 * derived from the zones' managed pages); the kernel does not recompute watermarks here either.
 */
export function adjust_managed_page_count(m: Machine, page: Pfn, count: number): void {
  page_zone(m, page).managed_pages += count;
}

/** `inc_node_page_state(page, NR_BALLOON_PAGES)` / `dec_…`: `delta` on the page's node. */
export function modBalloonPages(m: Machine, page: Pfn, delta: number): void {
  m.nodes[page_to_nid(m, page)]!.vmstat[NR_NODE.nr_balloon_pages]! += delta;
}
