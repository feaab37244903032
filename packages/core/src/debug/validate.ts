import { EINVAL } from '../errno.js';
import type { Machine } from '../machine/machine.js';
import type { Folio, Pfn } from '../types.js';
import { MmError } from './mm-error.js';

/**
 * Argument checks shared by the kernel functions and by plugins. Each throws {@link MmError} before
 * anything changes.
 *
 * @module
 */

/** Throw `MmError(EINVAL)` unless `pfn` is an integer PFN with a struct page in a zone. */
export function assertValidPfn(m: Machine, pfn: number, fn: string): asserts pfn is Pfn {
  const flags = m.memmap.flags;
  if (!(pfn >= 0 && pfn < flags.length && Number.isInteger(pfn)) || flags[pfn]! >>> 24 === 0xff) {
    throw new MmError(EINVAL, `${fn}: pfn ${pfn} has no struct page`, {
      pfn: Number.isFinite(pfn) ? pfn : undefined,
      rule: 'PFN within the memmap (pfn_valid)',
    });
  }
}

/** Throw `MmError(EINVAL)` unless `cpu` is one of the machine's CPUs (`0 … cpus − 1`). */
export function assertValidCpu(m: Machine, cpu: number, fn: string): void {
  if (!(Number.isInteger(cpu) && cpu >= 0 && cpu < m.config.cpus)) {
    throw new MmError(EINVAL, `${fn}(${cpu}) on a machine with ${m.config.cpus} CPUs`, { rule: 'cpu is 0..cpus-1' });
  }
}

/** Throw `MmError(EINVAL)` unless `folio` is a valid PFN that is not a tail page. */
export function assertFolio(m: Machine, folio: number, fn: string): asserts folio is Folio {
  assertValidPfn(m, folio, fn);
  if ((m.memmap.lru[folio]! & 1) !== 0) {
    throw new MmError(EINVAL, `${fn}: pfn is a tail page, not a folio`, { pfn: folio, rule: '§1.2 a folio is a head or order-0 page' });
  }
}

/** Throw `MmError(EINVAL)` unless the folio holds at least one reference. */
export function assertReferenced(m: Machine, folio: Folio, fn: string): void {
  const ref = m.memmap.refcount[folio]!;
  if (ref <= 0) {
    throw new MmError(EINVAL, `${fn} on a folio with refcount ${ref} (${ref === 0 ? 'free or frozen' : 'underflow'})`, {
      pfn: folio,
      rule: '§2.2 the caller must hold a reference',
    });
  }
}
