import {
  EAGAIN,
  EINVAL,
  ENOENT,
  Machine,
  MmError,
  PAGE_TYPE_NONE,
  PG,
  PGTY,
  VM_EVENT,
  assertValidPfn,
  get_page,
  list_add,
  list_del,
  page_zone,
  ptr_id,
  put_page,
  type IsolateMode,
  type MigrateMode,
  type MovableOperations,
  type Pfn,
} from '@mm/core';
import { inject, injectable } from 'tsyringe';
import type { BalloonDevInfo } from './balloon-dev-info.js';
import { adjust_managed_page_count, finalizePage, insertPage } from './balloon-page.js';
import { BalloonState } from './balloon-state.js';

/**
 * `balloon_mops` (`mm/balloon.c`, 2026): the movable_ops table of balloon pages, registered for
 * PGTY_offline (`set_movable_ops(&balloon_mops, PGTY_offline)` at boot; here through DI). The core's
 * `isolate_movable_ops_page`, `migrate_movable_ops_page` and `putback_movable_ops_page` call it.
 * One instance per machine; it finds a page's device through `page->private`.
 */
@injectable()
export class BalloonMops implements MovableOperations {
  /** Balloon pages are PageOffline. */
  readonly pageType = PGTY.offline;
  private readonly m: Machine;
  private readonly state: BalloonState;

  /** Built by the machine's container. */
  constructor(@inject(Machine) m: Machine, @inject(BalloonState) state: BalloonState) {
    this.m = m;
    this.state = state;
  }

  private device(page: Pfn): BalloonDevInfo | null {
    return this.state.device(ptr_id(this.m.memmap.private[page]!));
  }

  /**
   * `balloon_page_isolate(page, mode)`: a page whose `private` names no device was already deflated
   * (its PageOffline and PG_movable_ops are sticky until it is freed, so the core may still find
   * it): refuse. Otherwise take it off the device's list and count it in `isolated_pages`, so that
   * no dequeue can return it. The model also refuses pages of a device without a `migratepage`
   * callback, which the kernel would crash on later.
   */
  isolate_page(page: Pfn, _mode: IsolateMode): boolean {
    const b = this.device(page);
    if (b === null || b.migratepage === null) return false;
    list_del(this.m.memmap.lru, this.m.memmap.lruPrev, b.pages, 0, page);
    b.isolated_pages++;
    return true;
  }

  /**
   * `balloon_page_putback(page)`: migration gave up; put the page back on its device's list. An
   * isolated page cannot have been deflated, so its device is known (the kernel WARNs and returns
   * if not; so does the model, silently).
   */
  putback_page(page: Pfn): void {
    const b = this.device(page);
    if (b === null) return;
    list_add(this.m.memmap.lru, this.m.memmap.lruPrev, b.pages, 0, page);
    b.isolated_pages--;
  }

  /**
   * `balloon_page_migrate(newpage, page, mode)`: ask the driver, then do the bookkeeping the 2026
   * cleanup centralised. Driver result:
   * - `0`: take a reference on `newpage` and insert it, BALLOON_MIGRATE, and if the device adjusts
   *   managed pages and the zones differ, move one managed page from `newpage`'s zone to `page`'s;
   * - `-ENOENT` (old page deflated, new one not inflated): BALLOON_DEFLATE and managed +1;
   * - any other negative errno: returned as is; `page` stays isolated (the core retries or puts it
   *   back).
   * In the first two cases `isolated_pages` drops by one, `page` is finalized and the balloon's
   * reference on it is dropped (the migration core drops the isolation reference, freeing it), and
   * 0 is returned. NR_BALLOON_PAGES is never touched here, as in the kernel.
   *
   * A page without a device cannot be isolated, so the kernel WARNs and returns `-EAGAIN`; so does
   * the model. `MmError(EINVAL)` before anything happens if `newpage` is not a fresh order-0 page the
   * caller holds (the kernel's `VM_BUG_ON`s), or if the driver returns a positive number.
   */
  migrate_page(newpage: Pfn, page: Pfn, mode: MigrateMode): number {
    const m = this.m;
    const b = this.device(page);
    if (b === null || b.migratepage === null) return -EAGAIN;
    assertFreshPage(m, newpage);
    const rc = b.migratepage(b, newpage, page, mode);
    if (!Number.isInteger(rc) || rc > 0) {
      throw new MmError(EINVAL, `${b.name} migratepage returned ${rc}`, { pfn: page, rule: 'migratepage returns 0 or a negative errno' });
    }
    if (rc < 0 && rc !== -ENOENT) return rc;
    if (rc === 0) {
      get_page(m, newpage);
      insertPage(m, b, newpage);
      m.vmEvents[VM_EVENT.balloon_migrate]!++;
      if (b.adjust_managed_page_count && page_zone(m, page) !== page_zone(m, newpage)) {
        adjust_managed_page_count(m, page, 1);
        adjust_managed_page_count(m, newpage, -1);
      }
    } else {
      m.vmEvents[VM_EVENT.balloon_deflate]!++;
      if (b.adjust_managed_page_count) adjust_managed_page_count(m, page, 1);
    }
    b.isolated_pages--;
    finalizePage(m, page);
    put_page(m, page);
    return 0;
  }
}

/** `newpage` must be a page the migration core allocated: order-0, referenced, untyped, unlisted. */
function assertFreshPage(m: Machine, page: Pfn): void {
  assertValidPfn(m, page, 'balloon_page_migrate');
  const mm = m.memmap;
  const ok =
    mm.refcount[page]! >= 1 &&
    mm.mapcount[page] === PAGE_TYPE_NONE &&
    mm.lru[page] === 0 &&
    mm.lruPrev[page] === 0 &&
    (mm.flags[page]! & ((1 << PG.head) | (1 << PG.lru))) === 0;
  if (!ok) {
    throw new MmError(EINVAL, 'balloon_page_migrate: newpage is not a fresh order-0 page', {
      pfn: page,
      rule: 'migration targets are newly allocated, referenced order-0 pages',
    });
  }
}
