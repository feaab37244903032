/**
 * How pointers are encoded in the 32-bit words of the memmap.
 *
 * In the kernel, the first word of the main `struct page` union is a pointer whose low bits are
 * reserved: bit 0 marks a tail page (`compound_head = head + 1`) and, in series 1 (folio_owner_ops),
 * bit 1 marks an owner-ops pointer. The model keeps those bits real: every pointer stored in a word
 * is a multiple of 4, so bits 0 and 1 stay free for the same tags.
 *
 * - A pointer to page `pfn` (list links, `compound_head`) is `(pfn + 1) * 4`; 0 is NULL.
 * - A pointer to a per-machine object (owner ops, pgmap, address_space) is `id * 4` with `id >= 1`.
 * - The end of a list points back at the list head: {@link LIST_HEAD_PTR}, as a circular
 *   `list_head` does.
 *
 * @module
 */

/** NULL. */
export const NULL_PTR = 0;
/** The list-head sentinel: the value of `next` on the last entry and of `prev` on the first. */
export const LIST_HEAD_PTR = 0xfffffffc;
/** Bit 0 of the first union word: this is a tail page and the word is `compound_head`. */
export const TAIL_BIT = 1;
/** Bit 1 of the first union word (series 1, `FOLIO_OWNER_OPS`): the word is an owner-ops pointer. */
export const FOLIO_OWNER_OPS = 2;
/** Mask of the two reserved low bits. */
export const PTR_TAG_MASK = 3;

/** Encode a pointer to page `pfn`. */
export function pfn_ptr(pfn: number): number {
  return (pfn + 1) * 4;
}

/** Decode a page pointer (the tag bits are ignored). */
export function ptr_pfn(word: number): number {
  return (word >>> 2) - 1;
}

/** Encode a pointer to a per-machine object with id `id` (`id >= 1`). */
export function id_ptr(id: number): number {
  return id * 4;
}

/** Decode an object pointer (the tag bits are ignored). */
export function ptr_id(word: number): number {
  return word >>> 2;
}
