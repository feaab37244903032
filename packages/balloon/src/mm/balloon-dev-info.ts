import { PageListHeads, type Machine, type MigrateMode, type Pfn } from '@mm/core';

/**
 * The driver's `migratepage` callback of `struct balloon_dev_info` (`include/linux/balloon.h`,
 * 2026): move the ballooned `page` to `newpage` in the hypervisor's view. Return contract, as the
 * core's `balloon_page_migrate` reads it:
 * - `0`: the host now has `newpage` and no longer `page`; the core inflates `newpage`, counts
 *   BALLOON_MIGRATE and releases `page`;
 * - `-ENOENT`: `page` was deflated but inflating `newpage` failed; the core counts BALLOON_DEFLATE,
 *   releases `page` and leaves `newpage` alone;
 * - any other negative errno (`-EAGAIN` retry later, `-EBUSY` this page cannot move now): nothing
 *   happened, `page` stays isolated for the migration core to retry or put back.
 *
 * The driver must not touch the balloon list, `isolated_pages`, page references or counters: since
 * the 2026 cleanup the core does all of that.
 */
export type BalloonMigratepage = (b: BalloonDevInfo, newpage: Pfn, page: Pfn, mode: MigrateMode) => number;

/** What a driver fills in after `balloon_devinfo_init()`. */
export interface BalloonDevInfoInit {
  /** A name for messages and `dump`s (e.g. `"virtio_balloon"`). */
  readonly name?: string;
  /** The driver's migration callback; null if the driver cannot migrate (see {@link BalloonDevInfo.migratepage}). */
  readonly migratepage?: BalloonMigratepage | null;
  /** Let the core adjust the zone's managed pages on inflate, deflate and cross-zone migration. Default false. */
  readonly adjust_managed_page_count?: boolean;
}

/**
 * `struct balloon_dev_info` (`include/linux/balloon.h`, after the January 2026 "balloon infrastructure
 * cleanups"): one balloon device. Its inflated pages are linked through their `lru` words on
 * `pages` (list 0 of a core {@link PageListHeads}); pages isolated for migration are off the list and
 * counted in `isolated_pages`. The kernel's one global `balloon_pages_lock` is implicit: the model is
 * sequential.
 *
 * `id` stands for the device's address: an inflated page's `private` word holds `id_ptr(id)` when
 * balloon migration is configured, as the kernel stores the `balloon_dev_info` pointer there.
 */
export class BalloonDevInfo {
  /** The device's id in its machine's registry (≥ 1); `page->private` of its pages is `id * 4`. */
  readonly id: number;
  /** The machine the device belongs to. */
  readonly machine: Machine;
  /** A name for messages. */
  readonly name: string;
  /** `pages`: the inflated pages that are not isolated, linked through `lru` (list 0). */
  readonly pages = new PageListHeads(1);
  /** `isolated_pages`: inflated pages currently isolated for migration. */
  isolated_pages = 0;
  /**
   * `migratepage`. Null means the driver cannot migrate; the kernel would crash if such a page were
   * isolated, so the model's `isolate_page` refuses the device's pages instead (a divergence).
   */
  migratepage: BalloonMigratepage | null;
  /** `adjust_managed_page_count`: the core adjusts `managed_pages` of the page's zone. */
  adjust_managed_page_count: boolean;
  /**
   * This device's share of NR_BALLOON_PAGES: pages enqueued minus pages dequeued. Balloon migration
   * changes neither (not even when `-ENOENT` deflates a page), so this differs from `nrInflated`
   * after such a migration, exactly as the kernel's counter does (kernel-semantics §7.3, §13 §7.1).
   */
  nrBalloonPagesStat = 0;
  /** CONFIG_BALLOON_MIGRATION on this machine (set at init from the plugin options). */
  readonly migration: boolean;

  /** Use `balloon_devinfo_init`; the constructor is for the machine's balloon registry. */
  constructor(m: Machine, id: number, migration: boolean, init: BalloonDevInfoInit) {
    this.machine = m;
    this.id = id;
    this.migration = migration;
    this.name = init.name ?? `balloon${id}`;
    this.migratepage = init.migratepage ?? null;
    this.adjust_managed_page_count = init.adjust_managed_page_count ?? false;
  }

  /** Pages on the `pages` list. */
  get nrListed(): number {
    return this.pages.counts[0]!;
  }

  /** Inflated pages: on the list or isolated. */
  get nrInflated(): number {
    return this.pages.counts[0]! + this.isolated_pages;
  }
}
