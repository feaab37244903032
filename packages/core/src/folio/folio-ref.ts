import { MmError } from '../debug/mm-error.js';
import { assertFolio, assertReferenced, assertValidPfn } from '../debug/validate.js';
import { EINVAL } from '../errno.js';
import type { Machine } from '../machine/machine.js';
import { PGTY } from '../page/page-type.js';
import { TAIL_BIT, ptr_pfn } from '../page/word.js';
import type { Folio, Pfn } from '../types.js';
import { __folio_put, folios_put_refs_free } from './folio-put.js';

/**
 * The folio reference API (`include/linux/mm.h`, `mm/swap.c`). Every put that takes a count from 1
 * to 0 calls {@link __folio_put} exactly once. Misuse the kernel would `VM_BUG_ON` (a get or put on a
 * free or frozen folio, a tail page where a folio is required) is rejected with `MmError` before
 * anything changes.
 *
 * @module
 */

/** `folio_ref_zero_or_close_to_overflow`: the count is 0 or within 127 of overflowing. */
function zeroOrCloseToOverflow(v: number): boolean {
  return ((v + 127) >>> 0) <= 127;
}

/**
 * `folio_get(folio)`: take another reference; the caller must already hold one (§2.2).
 */
export function folio_get(m: Machine, folio: Folio): void {
  const rc = m.memmap.refcount;
  const v = rc[folio]!;
  // A tail page's own count is 0 (§2.4), so the count test also catches a tail passed as a folio.
  if (zeroOrCloseToOverflow(v)) {
    assertFolio(m, folio, 'folio_get');
    throw new MmError(EINVAL, `folio_get on a folio with refcount ${v}`, { pfn: folio, rule: '§2.2 folio_get needs a held reference' });
  }
  rc[folio] = v + 1;
  if (m.debugVm) m.checkInvariants('folio_get');
}

/**
 * `folio_try_get(folio)`: take a reference unless the count is 0 (free or frozen); true on success.
 * Speculative lookups (RCU page-cache walkers, PFN scanners) use it.
 */
export function folio_try_get(m: Machine, folio: Folio): boolean {
  assertFolio(m, folio, 'folio_try_get');
  const rc = m.memmap.refcount;
  if (rc[folio] === 0) return false;
  rc[folio]!++;
  if (m.debugVm) m.checkInvariants('folio_try_get');
  return true;
}

/**
 * `folio_put(folio)`: drop a reference; at 0 the folio goes to {@link __folio_put}, which hands it to
 * its owner or to the page allocator.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { GFP_HIGHUSER_MOVABLE, createMachine, folio_alloc, folio_get, folio_put, folio_ref_count } from '@mm/core';
 *
 * const m = createMachine({ memory: '64M', debugVm: true });
 * m.trace.on('mm_page_free', (e) => console.log(`mm_page_free: pfn=${e.pfn} order=${e.order}`));
 * const folio = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 2);
 * if (folio === -1) throw new Error('out of memory');
 * folio_get(m, folio); // refcount 2
 * folio_put(m, folio); // refcount 1: nothing else happens
 * console.log(folio_ref_count(m, folio)); // 1
 * folio_put(m, folio); // refcount 0: __folio_put frees the order-2 folio (mm_page_free ... order=2)
 * ```
 */
export function folio_put(m: Machine, folio: Folio): void {
  const rc = m.memmap.refcount;
  const v = rc[folio]!;
  if (!(v > 0)) {
    assertFolio(m, folio, 'folio_put');
    assertReferenced(m, folio, 'folio_put');
  }
  rc[folio] = v - 1;
  if (v === 1) __folio_put(m, folio);
  if (m.debugVm) m.checkInvariants('folio_put');
}

/** `folio_put_refs(folio, refs)`: drop `refs` references at once. */
export function folio_put_refs(m: Machine, folio: Folio, refs: number): void {
  assertFolio(m, folio, 'folio_put_refs');
  const v = m.memmap.refcount[folio]!;
  if (!(Number.isInteger(refs) && refs > 0 && refs <= v)) {
    throw new MmError(EINVAL, `folio_put_refs(${refs}) on refcount ${v}`, { pfn: folio, rule: '§2.2 cannot drop more references than held' });
  }
  m.memmap.refcount[folio] = v - refs;
  if (v === refs) __folio_put(m, folio);
  if (m.debugVm) m.checkInvariants('folio_put_refs');
}

/**
 * `folios_put_refs(folios, refs)` (`mm/swap.c`): drop `refs[i]` (default 1) references from each
 * folio of a batch; those that reach 0 are freed together. The whole batch is validated first, so a
 * bad entry changes nothing.
 */
export function folios_put_refs(m: Machine, folios: readonly Folio[], refs?: readonly number[]): void {
  if (refs !== undefined && refs.length !== folios.length) {
    throw new MmError(EINVAL, `folios_put_refs: ${refs.length} counts for ${folios.length} folios`, { rule: 'one count per folio' });
  }
  const need = new Map<number, number>();
  folios.forEach((f, i) => {
    assertFolio(m, f, 'folios_put_refs');
    const n = refs ? refs[i]! : 1;
    if (!(Number.isInteger(n) && n > 0)) {
      throw new MmError(EINVAL, `folios_put_refs: count ${n} for entry ${i}`, { pfn: f, rule: 'each entry drops a positive whole number of references' });
    }
    need.set(f, (need.get(f) ?? 0) + n);
  });
  for (const [f, n] of need) {
    if (!(n > 0 && n <= m.memmap.refcount[f]!)) {
      throw new MmError(EINVAL, `folios_put_refs drops ${n} references from a folio with ${m.memmap.refcount[f]}`, {
        pfn: f,
        rule: '§2.2 cannot drop more references than held',
      });
    }
  }
  folios_put_refs_free(m, folios, refs);
  if (m.debugVm) m.checkInvariants('folios_put_refs');
}

/** `folios_put(folios)`: `folios_put_refs(folios, NULL)`. */
export function folios_put(m: Machine, folios: readonly Folio[]): void {
  folios_put_refs(m, folios);
}

function isSlabLike(m: Machine, folio: number): boolean {
  const t = m.memmap.mapcount[folio]! >>> 24;
  return m.memmap.mapcount[folio]! < -16777216 && (t === PGTY.slab || t === PGTY.large_kmalloc);
}

/**
 * `get_page(page)`: a reference on the page's folio (a tail acts on its head). The kernel refuses
 * slab and large_kmalloc folios with a WARN; the model throws `MmError(EINVAL)`.
 */
export function get_page(m: Machine, pfn: Pfn): void {
  assertValidPfn(m, pfn, 'get_page');
  const w = m.memmap.lru[pfn]!;
  const folio = ((w & TAIL_BIT) !== 0 ? ptr_pfn(w) : pfn) as Folio;
  if (isSlabLike(m, folio)) {
    throw new MmError(EINVAL, 'get_page on a slab/large_kmalloc folio', { pfn, rule: 'get_page refuses slab memory (WARN_ON_ONCE)' });
  }
  folio_get(m, folio);
}

/** `put_page(page)`: drop a reference on the page's folio; slab and large_kmalloc folios are ignored. */
export function put_page(m: Machine, pfn: Pfn): void {
  assertValidPfn(m, pfn, 'put_page');
  const w = m.memmap.lru[pfn]!;
  const folio = ((w & TAIL_BIT) !== 0 ? ptr_pfn(w) : pfn) as Folio;
  if (isSlabLike(m, folio)) return;
  folio_put(m, folio);
}

/**
 * `get_page_unless_zero(page)`: a speculative reference on this struct page itself (not its head);
 * false if its count is 0.
 */
export function get_page_unless_zero(m: Machine, pfn: Pfn): boolean {
  assertValidPfn(m, pfn, 'get_page_unless_zero');
  const rc = m.memmap.refcount;
  if (rc[pfn] === 0) return false;
  rc[pfn]!++;
  return true;
}

/**
 * `folio_get_nontail_page(page)` (`include/linux/mm.h`): a speculative reference on a page that is
 * not a tail; returns the folio, or null if the count was 0 (or the page became a tail meanwhile).
 */
export function folio_get_nontail_page(m: Machine, pfn: Pfn): Folio | null {
  if (!get_page_unless_zero(m, pfn)) return null;
  if ((m.memmap.lru[pfn]! & TAIL_BIT) !== 0) {
    m.memmap.refcount[pfn]!--;
    return null;
  }
  return pfn as Folio;
}
