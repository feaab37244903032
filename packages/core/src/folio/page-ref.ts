import { MmError } from '../debug/mm-error.js';
import { EINVAL } from '../errno.js';
import type { Machine } from '../machine/machine.js';
import type { Folio, Pfn } from '../types.js';

/**
 * Reference-count primitives (`include/linux/page_ref.h`). They act on one struct page's
 * `_refcount` with no policy; the folio API in `folio-ref.ts` builds on them. The model is
 * sequentially consistent: "atomic" here means "one step". `page_ref_*` tracepoints
 * (CONFIG_DEBUG_PAGE_REF) fire for freeze and unfreeze when someone listens.
 *
 * @module
 */

/** `page_ref_count(page)`: the raw `_refcount` of this struct page. */
export function page_ref_count(m: Machine, pfn: Pfn): number {
  return m.memmap.refcount[pfn]!;
}

/** `folio_ref_count(folio)`. */
export function folio_ref_count(m: Machine, folio: Folio): number {
  return m.memmap.refcount[folio]!;
}

/** `set_page_count(page, v)`. */
export function set_page_count(m: Machine, pfn: Pfn, v: number): void {
  m.memmap.refcount[pfn] = v;
}

/** `init_page_count(page)`: 1, as pages first enter the allocator. */
export function init_page_count(m: Machine, pfn: Pfn): void {
  m.memmap.refcount[pfn] = 1;
}

/** `page_ref_add(page, nr)`. */
export function page_ref_add(m: Machine, pfn: Pfn, nr: number): void {
  m.memmap.refcount[pfn]! += nr;
}

/** `page_ref_sub(page, nr)`. */
export function page_ref_sub(m: Machine, pfn: Pfn, nr: number): void {
  m.memmap.refcount[pfn]! -= nr;
}

/** `page_ref_inc(page)`. */
export function page_ref_inc(m: Machine, pfn: Pfn): void {
  m.memmap.refcount[pfn]!++;
}

/** `page_ref_dec(page)`. */
export function page_ref_dec(m: Machine, pfn: Pfn): void {
  m.memmap.refcount[pfn]!--;
}

/** `page_ref_sub_and_test(page, nr)`: true when the result is 0. */
export function page_ref_sub_and_test(m: Machine, pfn: Pfn, nr: number): boolean {
  return (m.memmap.refcount[pfn]! -= nr) === 0;
}

/** `page_ref_dec_and_test(page)`: true when the result is 0. */
export function page_ref_dec_and_test(m: Machine, pfn: Pfn): boolean {
  return --m.memmap.refcount[pfn]! === 0;
}

/** `page_ref_inc_return(page)`. */
export function page_ref_inc_return(m: Machine, pfn: Pfn): number {
  return ++m.memmap.refcount[pfn]!;
}

/** `page_ref_dec_return(page)`. */
export function page_ref_dec_return(m: Machine, pfn: Pfn): number {
  return --m.memmap.refcount[pfn]!;
}

/** `page_ref_add_unless(page, nr, u)`: add `nr` unless the count is `u`; true if added. */
export function page_ref_add_unless(m: Machine, pfn: Pfn, nr: number, u: number): boolean {
  const rc = m.memmap.refcount;
  if (rc[pfn] === u) return false;
  rc[pfn]! += nr;
  return true;
}

/**
 * `page_ref_freeze(page, count)`: compare-and-exchange `count → 0`; true on success. While frozen,
 * `folio_try_get` fails for everyone.
 */
export function page_ref_freeze(m: Machine, pfn: Pfn, count: number): boolean {
  const rc = m.memmap.refcount;
  const ok = rc[pfn] === count;
  if (ok) rc[pfn] = 0;
  if (m.trace.active) m.trace.emit('page_ref_freeze', { pfn, v: ok ? 0 : rc[pfn]! });
  return ok;
}

/**
 * `page_ref_unfreeze(page, count)`: requires the count to be 0 and `count > 0` (the kernel's
 * `VM_BUG_ON`s); violations are rejected with `MmError(EINVAL)` and nothing changes.
 */
export function page_ref_unfreeze(m: Machine, pfn: Pfn, count: number): void {
  const rc = m.memmap.refcount;
  if (rc[pfn] !== 0 || !(count > 0)) {
    throw new MmError(EINVAL, `page_ref_unfreeze(${count}) on refcount ${rc[pfn]}`, {
      pfn,
      rule: '§2.3 unfreeze(c) only from 0 with c > 0',
    });
  }
  rc[pfn] = count;
  if (m.trace.active) m.trace.emit('page_ref_unfreeze', { pfn, v: count });
}

/** `folio_ref_freeze(folio, count)`. */
export function folio_ref_freeze(m: Machine, folio: Folio, count: number): boolean {
  return page_ref_freeze(m, folio, count);
}

/** `folio_ref_unfreeze(folio, count)`. */
export function folio_ref_unfreeze(m: Machine, folio: Folio, count: number): void {
  page_ref_unfreeze(m, folio, count);
}

/** `folio_ref_add(folio, nr)`. */
export function folio_ref_add(m: Machine, folio: Folio, nr: number): void {
  m.memmap.refcount[folio]! += nr;
}

/** `folio_ref_sub(folio, nr)`. */
export function folio_ref_sub(m: Machine, folio: Folio, nr: number): void {
  m.memmap.refcount[folio]! -= nr;
}

/** `folio_ref_try_add(folio, count)`: add unless zero (`folio_ref_try_add_rcu`); true if added. */
export function folio_ref_try_add(m: Machine, folio: Folio, count: number): boolean {
  return page_ref_add_unless(m, folio, count, 0);
}
