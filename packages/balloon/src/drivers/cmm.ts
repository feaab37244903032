import { EINVAL, MmError, PAGE_SHIFT, __free_page, type Machine, type MigrateMode, type Pfn } from '@mm/core';
import { balloon_page_alloc } from '../mm/balloon-alloc.js';
import type { BalloonDevInfo } from '../mm/balloon-dev-info.js';
import { balloon_page_dequeue } from '../mm/balloon-dequeue.js';
import { balloon_page_enqueue } from '../mm/balloon-enqueue.js';
import { balloon_devinfo_init } from '../mm/balloon-state.js';

/**
 * A model of the pseries Cooperative Memory Management balloon (`arch/powerpc/platforms/pseries/
 * cmm.c`, 2026) in its simulation mode (`cmm.simulate=1`): no hypervisor calls, the loan target comes
 * from `simulate_loan_target_kb` (the sysfs file of that name). The device adjusts managed pages.
 * Not modelled: the OOM notifier, the memory-hotplug notifiers and the kthread's sleeping.
 *
 * @module
 */

/** `CMM_MIN_MEM_MB`: memory the driver never loans, by default. */
export const CMM_MIN_MEM_MB = 256;

/** `KB2PG(kb)`: KiB to pages. */
function KB2PG(kb: number): number {
  return Math.floor(kb / (1 << (PAGE_SHIFT - 10)));
}

/** The driver's state (module globals in the kernel). */
export class Cmm {
  /** `b_dev_info`. */
  readonly b_dev_info: BalloonDevInfo;
  /** `loaned_pages`. */
  loaned_pages = 0;
  /** `loaned_pages_target`. */
  loaned_pages_target = 0;
  /** `oom_freed_pages` (the OOM notifier is not modelled; it stays 0 unless a test sets it). */
  oom_freed_pages = 0;
  /** `simulate_loan_target_kb`: the loan the "hypervisor" asks for, in KiB. */
  simulate_loan_target_kb = 0;
  /** `min_mem_mb` module parameter. */
  readonly min_mem_mb: number;

  /** Use {@link cmm_init}. */
  constructor(m: Machine, minMemMb: number) {
    this.min_mem_mb = minMemMb;
    this.b_dev_info = balloon_devinfo_init(m, {
      name: 'cmm',
      adjust_managed_page_count: true,
      migratepage: (_b, newpage, page, mode) => cmm_migratepage(this, newpage, page, mode),
    });
  }
}

function assertCmm(m: Machine, cmm: Cmm, fn: string): void {
  if (!(cmm instanceof Cmm) || cmm.b_dev_info.machine !== m) {
    throw new MmError(EINVAL, `${fn}: not a CMM balloon of this machine`, { rule: 'cmm comes from cmm_init(m)' });
  }
}

/** `cmm_init()` with `simulate=1`; `min_mem_mb` is the module parameter (default {@link CMM_MIN_MEM_MB}). */
export function cmm_init(m: Machine, options: { readonly min_mem_mb?: number } = {}): Cmm {
  const min = options.min_mem_mb ?? CMM_MIN_MEM_MB;
  if (!(Number.isInteger(min) && min >= 0)) throw new MmError(EINVAL, `cmm_init: min_mem_mb ${min}`, { rule: 'min_mem_mb ≥ 0' });
  return new Cmm(m, min);
}

/** `totalram_pages()`: the managed pages of every zone (the core keeps no separate total). */
function totalram_pages(m: Machine): number {
  let n = 0;
  for (const z of m.zones) n += z.managed_pages;
  return n;
}

/**
 * `cmm_get_mpp()` in simulation mode: the target is `simulate_loan_target_kb` in pages, less pages
 * freed on OOM, never leaving less than `min_mem_mb` active and never below 0; nothing is loaned if
 * the machine is smaller than `min_mem_mb`.
 */
export function cmm_get_mpp(m: Machine, cmm: Cmm): void {
  assertCmm(m, cmm, 'cmm_get_mpp');
  const total = totalram_pages(m) + cmm.loaned_pages;
  const minMemPages = (cmm.min_mem_mb * 1024 * 1024) >> PAGE_SHIFT;
  let target = KB2PG(cmm.simulate_loan_target_kb);
  if (target < 0 || total < minMemPages) target = 0;
  target = target > cmm.oom_freed_pages ? target - cmm.oom_freed_pages : 0;
  if (minMemPages > total - target) target = total - minMemPages;
  cmm.loaned_pages_target = Math.max(0, target);
}

/**
 * `cmm_alloc_pages(nr)`: loan `nr` pages: allocate (`balloon_page_alloc`), "set loaned" (a no-op in
 * simulation), enqueue. Returns the number of pages it could not loan.
 */
export function cmm_alloc_pages(m: Machine, cmm: Cmm, nr: number): number {
  assertCmm(m, cmm, 'cmm_alloc_pages');
  if (!(Number.isInteger(nr) && nr >= 0)) throw new MmError(EINVAL, `cmm_alloc_pages: nr ${nr}`, { rule: 'a count of pages ≥ 0' });
  while (nr > 0) {
    const page = balloon_page_alloc(m);
    if (page === -1) break;
    balloon_page_enqueue(m, cmm.b_dev_info, page);
    cmm.loaned_pages++;
    nr--;
  }
  return nr;
}

/**
 * `cmm_free_pages(nr)`: take `nr` pages back: dequeue, "set active", `__free_page`. Stops early if
 * only isolated pages are left. Returns the number not freed. `MmError(EINVAL)`, nothing changed, if
 * `nr` exceeds the loaned pages (the kernel would hit the "balloon pages lost" BUG).
 */
export function cmm_free_pages(m: Machine, cmm: Cmm, nr: number): number {
  assertCmm(m, cmm, 'cmm_free_pages');
  if (!(Number.isInteger(nr) && nr >= 0 && nr <= cmm.loaned_pages)) {
    throw new MmError(EINVAL, `cmm_free_pages: ${nr} pages asked, ${cmm.loaned_pages} loaned`, { rule: 'deflate at most what was inflated' });
  }
  while (nr > 0) {
    const page = balloon_page_dequeue(m, cmm.b_dev_info);
    if (page === -1) break;
    __free_page(m, page);
    cmm.loaned_pages--;
    nr--;
  }
  return nr;
}

/**
 * One iteration of `cmm_thread()`'s loop: read the target (`cmm_get_mpp`), then loan or free pages
 * to reach it; if loaning falls short, the target becomes what was loaned.
 */
export function cmmThreadIteration(m: Machine, cmm: Cmm): void {
  cmm_get_mpp(m, cmm);
  if (cmm.loaned_pages_target > cmm.loaned_pages) {
    if (cmm_alloc_pages(m, cmm, cmm.loaned_pages_target - cmm.loaned_pages) !== 0) cmm.loaned_pages_target = cmm.loaned_pages;
  } else if (cmm.loaned_pages_target < cmm.loaned_pages) {
    cmm_free_pages(m, cmm, cmm.loaned_pages - cmm.loaned_pages_target);
  }
}

/**
 * `cmm_migratepage(b_dev_info, newpage, page, mode)`: loan `newpage` ("set loaned", which can fail
 * with `-EBUSY` on real firmware, never in simulation), then "set active" the old page; 0.
 */
function cmm_migratepage(_cmm: Cmm, _newpage: Pfn, _page: Pfn, _mode: MigrateMode): number {
  return 0;
}
