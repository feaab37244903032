import { EBUSY } from '@mm/core';

/**
 * `struct page_counter` (`include/linux/page_counter.h`, `mm/page_counter.c`): a hierarchical usage
 * counter with a limit. Charging a counter charges every ancestor; a try-charge fails if any of them
 * would exceed its `max`, and then charges nothing.
 *
 * @module
 */

/** `PAGE_COUNTER_MAX` on 64-bit: `LONG_MAX / PAGE_SIZE` = 2^51 − 1. */
export const PAGE_COUNTER_MAX = 2 ** 51 - 1;

/** `struct page_counter`. */
export class PageCounter {
  /** `usage`: pages charged here and in every descendant. */
  usage = 0;
  /** `max`: the limit. */
  max: number;
  /** `watermark`: the highest usage seen. */
  watermark = 0;
  /** `failcnt`: failed try-charges that hit this counter's limit. */
  failcnt = 0;
  /** `parent`: the counter of the parent cgroup, or null for the root. */
  readonly parent: PageCounter | null;

  /** `page_counter_init(counter, parent)` with `max` as the initial limit. */
  constructor(parent: PageCounter | null, max = PAGE_COUNTER_MAX) {
    this.parent = parent;
    this.max = max;
  }
}

/** `page_counter_read(counter)`. */
export function page_counter_read(c: PageCounter): number {
  return c.usage;
}

/** `page_counter_charge(counter, nr_pages)`: charge this counter and its ancestors, ignoring limits. */
export function page_counter_charge(c: PageCounter, nr: number): void {
  for (let p: PageCounter | null = c; p !== null; p = p.parent) {
    p.usage += nr;
    if (p.usage > p.watermark) p.watermark = p.usage;
  }
}

/**
 * `page_counter_try_charge(counter, nr_pages, &fail)`: charge the hierarchy if no counter would exceed
 * its limit. Returns null on success, else the counter whose limit was hit (its `failcnt` counts the
 * failure) and nothing stays charged.
 */
export function page_counter_try_charge(c: PageCounter, nr: number): PageCounter | null {
  for (let p: PageCounter | null = c; p !== null; p = p.parent) {
    if (p.usage + nr > p.max) {
      p.failcnt++;
      for (let q: PageCounter | null = c; q !== p; q = q!.parent) q!.usage -= nr;
      return p;
    }
    p.usage += nr;
    if (p.usage > p.watermark) p.watermark = p.usage;
  }
  return null;
}

/** `page_counter_uncharge(counter, nr_pages)`: uncharge this counter and its ancestors. */
export function page_counter_uncharge(c: PageCounter, nr: number): void {
  for (let p: PageCounter | null = c; p !== null; p = p.parent) p.usage -= nr;
}

/** `page_counter_cancel(counter, nr_pages)`: uncharge this counter only (its ancestors keep the pages). */
export function page_counter_cancel(c: PageCounter, nr: number): void {
  c.usage -= nr;
}

/** `page_counter_set_max(counter, nr_pages)`: 0, or `-EBUSY` if the usage is already above the new limit. */
export function page_counter_set_max(c: PageCounter, nr: number): number {
  if (c.usage > nr) return -EBUSY;
  c.max = nr;
  return 0;
}
