import { MmError, EFAULT, EINVAL, ENOMEM, PG, assertValidPfn, folio_put_refs, page_folio, type Folio, type Machine, type Pfn } from '@mm/core';
import { VmAreaStruct, handle_mm_fault } from './vma.js';

/**
 * GUP pins (`mm/gup.c`, `include/linux/mm.h`, `Documentation/core-api/pin_user_pages.rst`). A pin on
 * a small folio adds `GUP_PIN_COUNTING_BIAS` (1024) to its refcount, so that "maybe DMA-pinned" can be
 * read off the refcount; a large folio instead counts pins in `_pincount` (on page 1, the `index`
 * word in the model) and takes one plain reference per pin. The `NR_FOLL_PIN_ACQUIRED`/`RELEASED`
 * node counters are not modelled.
 *
 * @module
 */

/** `GUP_PIN_COUNTING_BIAS` (`include/linux/mm.h`): 1 << 10. */
export const GUP_PIN_COUNTING_BIAS = 1 << 10;

/** `FOLL_WRITE` (`include/linux/mm_types.h`). */
export const FOLL_WRITE = 1 << 0;
/** `FOLL_GET`: take a normal reference (released with `put_page`). */
export const FOLL_GET = 1 << 1;
/** `FOLL_LONGTERM`: the pin may be held indefinitely (RDMA, VFIO). */
export const FOLL_LONGTERM = 1 << 8;
/** `FOLL_PIN` (`mm/internal.h`, internal to GUP): a pin, released with `unpin_user_page`. */
export const FOLL_PIN = 1 << 19;

const HEAD = 1 << PG.head;

/**
 * `folio_maybe_dma_pinned(folio)` (`include/linux/mm.h`): a large folio has a nonzero `_pincount`;
 * a small one has a refcount of at least `GUP_PIN_COUNTING_BIAS` (false positives are possible with
 * very many ordinary references, as in the kernel).
 */
export function folio_maybe_dma_pinned(m: Machine, folio: Folio): boolean {
  if ((m.memmap.flags[folio]! & HEAD) !== 0) return m.memmap.index[folio + 1]! > 0;
  return m.memmap.refcount[folio]! >= GUP_PIN_COUNTING_BIAS;
}

/**
 * `try_grab_folio(folio, refs, flags)` (`mm/gup.c`): take `refs` references (`FOLL_GET`) or pins
 * (`FOLL_PIN`) on a folio the caller found mapped. Returns 0, or `-ENOMEM` if the folio has no
 * reference to grab from (the kernel's `WARN_ON_ONCE(folio_ref_count(folio) <= 0)`).
 */
export function try_grab_folio(m: Machine, folio: Folio, refs: number, flags: number): number {
  const mm = m.memmap;
  if (mm.refcount[folio]! <= 0) return -ENOMEM;
  if ((flags & FOLL_GET) !== 0) {
    mm.refcount[folio]! += refs;
  } else if ((flags & FOLL_PIN) !== 0) {
    if ((mm.flags[folio]! & HEAD) !== 0) {
      mm.refcount[folio]! += refs;
      mm.index[folio + 1]! += refs;
    } else {
      mm.refcount[folio]! += refs * GUP_PIN_COUNTING_BIAS;
    }
  }
  return 0;
}

/**
 * `gup_put_folio(folio, refs, flags)` (`mm/gup.c`): drop what {@link try_grab_folio} took. A pin on a
 * large folio decrements `_pincount` and drops one reference; on a small one it drops
 * `GUP_PIN_COUNTING_BIAS` references. The last reference frees the folio through `__folio_put`.
 */
export function gup_put_folio(m: Machine, folio: Folio, refs: number, flags: number): void {
  let n = refs;
  if ((flags & FOLL_PIN) !== 0) {
    if ((m.memmap.flags[folio]! & HEAD) !== 0) m.memmap.index[folio + 1]! -= refs;
    else n = refs * GUP_PIN_COUNTING_BIAS;
  }
  folio_put_refs(m, folio, n);
}

/**
 * `unpin_user_page(page)` (`mm/gup.c`): release one pin. A page whose folio is not pinned is rejected
 * with `MmError(EINVAL)` before anything changes (the kernel would underflow and warn).
 */
export function unpin_user_page(m: Machine, page: Pfn): void {
  assertValidPfn(m, page, 'unpin_user_page');
  const folio = page_folio(m, page);
  if (!folio_maybe_dma_pinned(m, folio)) {
    throw new MmError(EINVAL, 'unpin_user_page: the folio holds no pin', { pfn: page, rule: 'unpin only what pin_user_pages pinned' });
  }
  m.withChecksDeferred('unpin_user_page', () => gup_put_folio(m, folio, 1, FOLL_PIN));
}

/** `unpin_user_pages(pages, npages)`: {@link unpin_user_page} for each page; all are checked first. */
export function unpin_user_pages(m: Machine, pages: readonly Pfn[]): void {
  const need = new Map<number, number>();
  for (const p of pages) {
    assertValidPfn(m, p, 'unpin_user_pages');
    const f = page_folio(m, p);
    need.set(f, (need.get(f) ?? 0) + 1);
  }
  for (const [f, n] of need) {
    const mm = m.memmap;
    const held = (mm.flags[f]! & HEAD) !== 0 ? mm.index[f + 1]! : Math.floor(mm.refcount[f]! / GUP_PIN_COUNTING_BIAS);
    if (held < n) throw new MmError(EINVAL, `unpin_user_pages: ${n} unpins of a folio holding ${held} pins`, { pfn: f, rule: 'unpin only what pin_user_pages pinned' });
  }
  m.withChecksDeferred('unpin_user_pages', () => {
    for (const p of pages) gup_put_folio(m, page_folio(m, p), 1, FOLL_PIN);
  });
}

/**
 * `pin_user_pages(start, nr_pages, gup_flags, pages)` (`mm/gup.c`) over file indices
 * `[pgoff, pgoff + nrPages)` of `vma`: fault each page in if its PTE is absent (as
 * `__get_user_pages` does), then pin it. Returns the number of pages pinned and appends them to
 * `pages`; stops at the first page that cannot be faulted in, returning `-EFAULT` if that is the
 * first one. `gupFlags` may add `FOLL_WRITE`/`FOLL_LONGTERM` (guest_memfd folios are never in
 * ZONE_MOVABLE or CMA, so a long-term pin migrates nothing).
 */
export function pin_user_pages(m: Machine, vma: VmAreaStruct, pgoff: number, nrPages: number, gupFlags: number, pages: Pfn[]): number {
  if (!Number.isInteger(pgoff) || !Number.isInteger(nrPages) || nrPages < 1) {
    throw new MmError(EINVAL, `pin_user_pages(${pgoff}, ${nrPages})`, { rule: 'nr_pages ≥ 1 and an integer index' });
  }
  if ((gupFlags & (FOLL_GET | FOLL_PIN)) !== 0) {
    throw new MmError(EINVAL, 'pin_user_pages: FOLL_GET/FOLL_PIN are set by GUP itself', { rule: 'is_valid_gup_args()' });
  }
  let done = 0;
  for (; done < nrPages; done++) {
    const idx = pgoff + done;
    if (!vma.live || !vma.covers(idx) || handle_mm_fault(m, vma, idx) !== 0) break;
    const page = vma.ptes[idx - vma.vm_pgoff]! as Pfn;
    if (try_grab_folio(m, page_folio(m, page), 1, FOLL_PIN) !== 0) break;
    pages.push(page);
  }
  if (m.debugVm) m.checkInvariants('pin_user_pages');
  return done === 0 ? -EFAULT : done;
}
