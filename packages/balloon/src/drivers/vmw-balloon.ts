import { EAGAIN, EBUSY, EINVAL, ENOENT, MmError, PAGE_SIZE, PageListHeads, __free_page, list_add, list_del, list_next, type Machine, type MigrateMode, type Pfn } from '@mm/core';
import { balloon_page_alloc } from '../mm/balloon-alloc.js';
import type { BalloonDevInfo } from '../mm/balloon-dev-info.js';
import { balloon_page_list_dequeue } from '../mm/balloon-dequeue.js';
import { balloon_page_list_enqueue } from '../mm/balloon-enqueue.js';
import { balloon_devinfo_init } from '../mm/balloon-state.js';

/**
 * A small model of the VMware balloon driver (`drivers/misc/vmw_balloon.c`, 2026): 4 KiB pages only
 * (the driver's 2 MiB pages and their own list are not modelled), batched lock/unlock calls to a
 * hypervisor that may refuse single pages, and a `migratepage` that can refuse a migration
 * (`-EBUSY`), ask for a retry (`-EAGAIN`) or deflate without inflating (`-ENOENT`). The driver does
 * not adjust managed pages.
 *
 * @module
 */

/** `VMW_BALLOON_BATCH_MAX_PAGES`: one batch page of u64 entries, `PAGE_SIZE / 8` = 512. */
export const VMW_BALLOON_BATCH_MAX_PAGES = PAGE_SIZE / 8;

/**
 * The VMware hypervisor's side: the balloon target it asks for, the guest frames it holds ("locked"),
 * and frames it will refuse to lock or unlock (as `VMW_BALLOON_ERROR_*` statuses do).
 */
export class VmwHypervisor {
  /** Pages the hypervisor wants in the balloon. */
  target = 0;
  /** Guest PFNs the hypervisor holds. */
  readonly locked = new Set<number>();
  /** PFNs it refuses to lock (inflate). */
  readonly refuseLock = new Set<number>();
  /** PFNs it refuses to unlock (deflate). */
  readonly refuseUnlock = new Set<number>();

  /** `VMW_BALLOON_INFLATE` of one page: true if the hypervisor took it. */
  lock(pfn: number): boolean {
    if (this.refuseLock.has(pfn) || this.locked.has(pfn)) return false;
    this.locked.add(pfn);
    return true;
  }

  /** `VMW_BALLOON_DEFLATE` of one page: true if the hypervisor gave it back. */
  unlock(pfn: number): boolean {
    if (this.refuseUnlock.has(pfn) || !this.locked.has(pfn)) return false;
    this.locked.delete(pfn);
    return true;
  }
}

/** `struct vmballoon`: the driver's state. */
export class VmBalloon {
  /** `b_dev_info`. */
  readonly b_dev_info: BalloonDevInfo;
  /** The hypervisor. */
  readonly hv: VmwHypervisor;
  /** `size`: pages in the balloon, as the driver counts them. */
  size = 0;
  /**
   * `conf_sem` is held for writing (a balloon reset or reconfiguration is running): migration must
   * back off with `-EAGAIN`. Tests set it to play the race.
   */
  conf_sem_write_locked = false;

  /** Use {@link vmballoon_init}. */
  constructor(m: Machine, hv: VmwHypervisor) {
    this.hv = hv;
    this.b_dev_info = balloon_devinfo_init(m, {
      name: 'vmw_balloon',
      migratepage: (_b, newpage, page, mode) => vmballoon_migratepage(this, newpage, page, mode),
    });
  }
}

function assertVmb(m: Machine, b: VmBalloon, fn: string): void {
  if (!(b instanceof VmBalloon) || b.b_dev_info.machine !== m) {
    throw new MmError(EINVAL, `${fn}: not a VMware balloon of this machine`, { rule: 'b comes from vmballoon_init(m)' });
  }
}

/** `vmballoon_init()`: a VMware balloon on `m` talking to `hv` (a new hypervisor by default). */
export function vmballoon_init(m: Machine, hv: VmwHypervisor = new VmwHypervisor()): VmBalloon {
  return new VmBalloon(m, hv);
}

/** Free every page of list 0 (`vmballoon_release_page_list`). */
function releasePageList(m: Machine, pages: PageListHeads): void {
  for (let p = pages.heads[0]!; p >= 0; p = pages.heads[0]!) {
    list_del(m.memmap.lru, m.memmap.lruPrev, pages, 0, p);
    __free_page(m, p as Pfn);
  }
}

/**
 * `vmballoon_inflate(b)`: inflate towards the hypervisor's target, one batch of at most
 * {@link VMW_BALLOON_BATCH_MAX_PAGES} at a time: allocate, ask the hypervisor to lock each page,
 * enqueue the locked ones (`balloon_page_list_enqueue`) and free the refused ones. Stops when the
 * target is reached, the allocator runs dry or the hypervisor refuses pages. Returns pages inflated.
 */
export function vmballoon_inflate(m: Machine, b: VmBalloon): number {
  assertVmb(m, b, 'vmballoon_inflate');
  let done = 0;
  while (b.size < b.hv.target) {
    const want = Math.min(b.hv.target - b.size, VMW_BALLOON_BATCH_MAX_PAGES);
    const locked = new PageListHeads(1);
    const refused = new PageListHeads(1);
    let got = 0;
    for (; got < want; got++) {
      const page = balloon_page_alloc(m);
      if (page === -1) break;
      list_add(m.memmap.lru, m.memmap.lruPrev, b.hv.lock(page) ? locked : refused, 0, page);
    }
    const n = balloon_page_list_enqueue(m, b.b_dev_info, locked);
    b.size += n;
    done += n;
    const nRefused = refused.counts[0]!;
    releasePageList(m, refused); // vmballoon_release_refused_pages()
    if (got < want || nRefused > 0 || n === 0) break;
  }
  return done;
}

/**
 * `vmballoon_deflate(b, n_frames, coordinated)`: deflate `n_frames` pages (default: down to the
 * target), a batch at a time: dequeue (`balloon_page_list_dequeue`), ask the hypervisor to unlock
 * each, free the unlocked ones and put the refused ones back in the balloon
 * (`balloon_page_list_enqueue`, which counts them as inflated again, as the kernel does); a refusal
 * ends the deflation. Returns pages deflated. `MmError(EINVAL)`, nothing changed, for more than the
 * balloon holds.
 */
export function vmballoon_deflate(m: Machine, b: VmBalloon, n_frames?: number): number {
  assertVmb(m, b, 'vmballoon_deflate');
  const want = n_frames ?? Math.max(0, b.size - b.hv.target);
  if (!(Number.isInteger(want) && want >= 0 && want <= b.size)) {
    throw new MmError(EINVAL, `vmballoon_deflate: ${want} pages asked, ${b.size} inflated`, { rule: 'deflate at most what was inflated' });
  }
  let done = 0;
  while (done < want) {
    const pages = new PageListHeads(1);
    const n = balloon_page_list_dequeue(m, b.b_dev_info, pages, Math.min(want - done, VMW_BALLOON_BATCH_MAX_PAGES));
    if (n === 0) break; // only isolated pages left
    const refused = new PageListHeads(1);
    for (let p = pages.heads[0]!; p >= 0; ) {
      const next = list_next(m.memmap.lru, p);
      if (!b.hv.unlock(p)) {
        list_del(m.memmap.lru, m.memmap.lruPrev, pages, 0, p);
        list_add(m.memmap.lru, m.memmap.lruPrev, refused, 0, p);
      }
      p = next;
    }
    const freed = pages.counts[0]!;
    b.size -= freed;
    done += freed;
    releasePageList(m, pages);
    if (refused.counts[0]! > 0) {
      balloon_page_list_enqueue(m, b.b_dev_info, refused);
      break;
    }
  }
  return done;
}

/** `vmballoon_work()`: one run of the driver's work: inflate or deflate towards the target. */
export function vmballoon_work(m: Machine, b: VmBalloon): void {
  if (b.hv.target > b.size) vmballoon_inflate(m, b);
  else if (b.hv.target < b.size) vmballoon_deflate(m, b);
}

/**
 * `vmballoon_migratepage(b_dev_info, newpage, page, mode)`: `-EAGAIN` while `conf_sem` is held for
 * writing; deflate `page` first (if the hypervisor refuses, `-EBUSY`: nothing changed, the migration
 * core keeps the page isolated to retry or put back); then inflate `newpage` (if refused, the balloon
 * shrank by one: `size` −1 and `-ENOENT`, so the core counts a deflation); else 0.
 */
function vmballoon_migratepage(b: VmBalloon, newpage: Pfn, page: Pfn, _mode: MigrateMode): number {
  if (b.conf_sem_write_locked) return -EAGAIN;
  if (!b.hv.unlock(page)) return -EBUSY;
  if (!b.hv.lock(newpage)) {
    b.size--;
    return -ENOENT;
  }
  return 0;
}
