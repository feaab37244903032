import { MmError } from '../debug/mm-error.js';
import { EBUSY, EINVAL } from '../errno.js';
import type { Machine } from '../machine/machine.js';
import { PG } from '../page/page-flags.js';
import type { Folio } from '../types.js';

/**
 * The folio lock, PG_locked (`include/linux/pagemap.h`, `mm/filemap.c`). The model has no sleeping:
 * `folio_lock` on a locked folio cannot wait, so it throws `MmError(EBUSY)`; code that must not
 * block uses `folio_trylock`, as the kernel's non-blocking paths do. Wait queues (PG_waiters) are not
 * modelled.
 *
 * @module
 */

const LOCKED = 1 << PG.locked;

/** `folio_trylock(folio)`: take the lock if it is free; true on success. */
export function folio_trylock(m: Machine, folio: Folio): boolean {
  const f = m.memmap.flags[folio]!;
  if ((f & LOCKED) !== 0) return false;
  m.memmap.flags[folio] = f | LOCKED;
  return true;
}

/** `folio_lock(folio)`: take the lock; `MmError(EBUSY)` if it is held (the model cannot sleep). */
export function folio_lock(m: Machine, folio: Folio): void {
  if (!folio_trylock(m, folio)) {
    throw new MmError(EBUSY, 'folio_lock: folio is locked and the model cannot sleep', { pfn: folio, rule: 'lock holders unlock before others lock' });
  }
}

/** `folio_unlock(folio)`: release the lock; `MmError(EINVAL)` if it is not held (`VM_BUG_ON_FOLIO(!folio_test_locked)`). */
export function folio_unlock(m: Machine, folio: Folio): void {
  const f = m.memmap.flags[folio]!;
  if ((f & LOCKED) === 0) throw new MmError(EINVAL, 'folio_unlock of an unlocked folio', { pfn: folio, rule: 'VM_BUG_ON_FOLIO(!folio_test_locked(folio))' });
  m.memmap.flags[folio] = f & ~LOCKED;
}
