import { MAX_PAGE_ORDER } from '../types.js';
import type { Memmap } from './memmap.js';

/**
 * One memmap word over all tail pages of a block (pages `head + 1 … head + 2^order - 1`): what
 * `prep_compound_page` and `free_pages_prepare` do page by page in the kernel, done here as range
 * operations. The result is word for word the same as the kernel's loop; only the way JS reads and
 * writes the words differs. Not part of the public API (`tail-pages.test.ts` checks every path against
 * the kernel's page-by-page loops).
 *
 * Writes, three ways: a JS store loop costs about 0.7 ns a word; `TypedArray.prototype.fill` is a C++
 * builtin with a fixed entry cost of about 60 ns and a scalar fill; `TypedArray.prototype.set` from a
 * typed array of the same type is a `memmove` with a smaller entry cost. So short ranges use a loop,
 * the values the allocator writes over whole blocks (0, and `TAIL_MAPPING` in `compound.ts`) are
 * copied from template arrays that are built once and never written, and any other value uses `fill`.
 *
 * @module
 */

/** Below this many tails a plain store loop beats a builtin call. */
const LOOP_MAX = 24;

/**
 * Templates for {@link setTailWords}: entry `order` holds `2^order - 1` words of `value`, for orders up
 * to MAX_PAGE_ORDER. Callers keep them private and never write them.
 */
export function tailTemplates(value: number): readonly Uint32Array[] {
  const all = new Uint32Array((1 << MAX_PAGE_ORDER) - 1).fill(value);
  const out: Uint32Array[] = [];
  for (let order = 0; order <= MAX_PAGE_ORDER; order++) out.push(all.subarray(0, (1 << order) - 1));
  return out;
}

const ZERO_TAILS = tailTemplates(0);

/**
 * `words[p] = value` for every tail page `p` of the block of `order` at `head`. `templates` (from
 * {@link tailTemplates}`(value)`) makes long ranges a copy instead of a `fill`. Orders above
 * MAX_PAGE_ORDER (gigantic hugetlb folios) are allowed.
 */
export function setTailWords(words: Uint32Array, head: number, order: number, value: number, templates: readonly Uint32Array[] | null = null): void {
  const start = head + 1;
  const end = head + (1 << order);
  if (end - start <= LOOP_MAX) {
    for (let p = start; p < end; p++) words[p] = value;
  } else if (templates !== null && order <= MAX_PAGE_ORDER && end <= words.length) {
    words.set(templates[order]!, start);
  } else {
    words.fill(value, start, end);
  }
}

/** `words[p] = 0` for every tail page `p` of the block of `order` at `head`. */
export function zeroTailWords(words: Uint32Array, head: number, order: number): void {
  setTailWords(words, head, order, 0, ZERO_TAILS);
}

/** Blocks of a lower order (under 63 tails) are scanned word by word: the pair scan's setup would cost more than it saves. */
const PAIR_SCAN_MIN_ORDER = 6;

/**
 * `flags[p] &= keep` for every tail page `p` of the block of `order` at `head` (the kernel's
 * `page->flags &= ~PAGE_FLAGS_CHECK_AT_PREP` loop in `free_pages_prepare`). The words are read first,
 * and rewritten only if some word has a bit outside `keep`: when none has, the kernel's writes would
 * store the values already there, so skipping them leaves the memmap word for word as the kernel
 * leaves it. `keep` must keep bit 31 (the zone byte), as `~PAGE_FLAGS_CHECK_AT_PREP` does.
 *
 * The read is the cost (the kernel touches every tail), so it is done two words per load where it
 * can: tail 1 is checked alone, then every later pair of words must equal, as a float64, the pair of
 * tails 2 and 3, which must be two equal words with no bit outside `keep` (and not a NaN pattern,
 * which never equals itself). Float equality means the same 64 bits, or +0 against -0: the pair
 * (0, 0x80000000), whose words have no bit outside `keep` either. Any other block (tails that differ,
 * as with a hwpoisoned tail) is checked word by word. `pairs` is `flags` seen two words per element
 * ({@link Memmap.flagPairs}).
 */
export function maskTailFlags(flags: Uint32Array, pairs: Float64Array, head: number, order: number, keep: number): void {
  const start = head + 1;
  const end = head + (1 << order);
  if (order >= PAIR_SCAN_MIN_ORDER && keep < 0 && (head & 1) === 0) {
    const w = flags[head + 2]!;
    if (((flags[start]! | w) & ~keep) === 0 && flags[head + 3] === w && (w & 0x7ff00000) !== 0x7ff00000) {
      const first = (head + 2) >> 1;
      const t = pairs[first]!;
      const qe = end >> 1;
      let q = first + 1;
      for (; q + 4 <= qe; q += 4) if (pairs[q] !== t || pairs[q + 1] !== t || pairs[q + 2] !== t || pairs[q + 3] !== t) break;
      for (; q < qe; q++) if (pairs[q] !== t) break;
      if (q === qe) return;
    }
  }
  let any = 0;
  for (let p = start; p < end; p++) any |= flags[p]!;
  if ((any & ~keep) !== 0) maskWords(flags, start, end, keep);
}

/** `words[p] &= keep` for `start <= p < end`. */
function maskWords(words: Uint32Array, start: number, end: number, keep: number): void {
  for (let p = start; p < end; p++) words[p]! &= keep;
}
