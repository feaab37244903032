import { MmError } from '../debug/mm-error.js';
import { assertFolio, assertReferenced } from '../debug/validate.js';
import { EINVAL } from '../errno.js';
import { folio_get, folio_put } from '../folio/folio-ref.js';
import type { Machine } from '../machine/machine.js';
import { PG, folio_test_swapcache } from '../page/page-flags.js';
import type { Folio } from '../types.js';

/**
 * `folio_attach_private(folio, data)` (`include/linux/pagemap.h`): store filesystem data (buffer
 * heads) in `private`, set PG_private and take the reference PG_private stands for (counted by
 * `folio_expected_ref_count`). `data` is any nonzero 32-bit value. `MmError(EINVAL)` if the folio
 * already has private data or is in the swap cache (whose entry lives in the same word).
 */
export function folio_attach_private(m: Machine, folio: Folio, data: number): void {
  assertFolio(m, folio, 'folio_attach_private');
  assertReferenced(m, folio, 'folio_attach_private');
  if ((m.memmap.flags[folio]! & (1 << PG.private)) !== 0 || folio_test_swapcache(m, folio) || !(Number.isInteger(data) && data > 0 && data < 2 ** 32)) {
    throw new MmError(EINVAL, 'folio_attach_private: folio already has private data (or is in the swap cache), or data is not a nonzero word', {
      pfn: folio,
      rule: 'one private word per folio',
    });
  }
  folio_get(m, folio);
  m.memmap.private[folio] = data;
  m.memmap.flags[folio]! |= 1 << PG.private;
}

/**
 * `folio_detach_private(folio)`: clear PG_private and `private`, drop its reference, and return the
 * data (0 if there was none).
 */
export function folio_detach_private(m: Machine, folio: Folio): number {
  const mm = m.memmap;
  if ((mm.flags[folio]! & (1 << PG.private)) === 0) return 0;
  const data = mm.private[folio]!;
  mm.flags[folio]! &= ~(1 << PG.private);
  mm.private[folio] = 0;
  folio_put(m, folio);
  return data;
}

/** `folio_get_private(folio)`: the private word (0: none). */
export function folio_get_private(m: Machine, folio: Folio): number {
  return (m.memmap.flags[folio]! & (1 << PG.private)) !== 0 ? m.memmap.private[folio]! : 0;
}
