import { MmError } from '../debug/mm-error.js';
import { EINVAL } from '../errno.js';
import type { Machine } from '../machine/machine.js';
import { id_ptr } from '../page/word.js';
import type { Folio } from '../types.js';

/** `FOLIO_MAPPING_ANON` (`include/linux/page-flags.h`, v6.17 name): bit 0 of `mapping`. */
export const FOLIO_MAPPING_ANON = 0x1;
/** `FOLIO_MAPPING_ANON_KSM`: bit 1, only meaningful with bit 0. */
export const FOLIO_MAPPING_ANON_KSM = 0x2;
/** `FOLIO_MAPPING_KSM = ANON | ANON_KSM`. */
export const FOLIO_MAPPING_KSM = 0x3;
/** `FOLIO_MAPPING_FLAGS`. */
export const FOLIO_MAPPING_FLAGS = 0x3;

/**
 * A minimal `struct anon_vma` (`include/linux/rmap.h`): the object an anonymous folio's `mapping`
 * points at (`anon_vma | FOLIO_MAPPING_ANON`), with its reference count (`anon_vma->refcount`, which
 * migration raises with `folio_get_anon_vma` so the anon_vma outlives the unmapped folio). The VMA
 * chains and the interval tree are not modelled: page-table mappings are counted per folio (see
 * `mapping/rmap.ts`).
 */
export class AnonVma {
  /** The object id stored (times 4, plus FOLIO_MAPPING_ANON) in `mapping`. */
  readonly id: number;
  /** `refcount`: 1 for its VMAs (dropped by `unlink_anon_vmas`), plus pins. */
  refcount = 1;

  /** Created by {@link anon_vma_alloc}. */
  constructor(id: number) {
    this.id = id;
  }

  /** The `mapping` word value of its folios. */
  get ptr(): number {
    return id_ptr(this.id) | FOLIO_MAPPING_ANON;
  }
}

/** `anon_vma_alloc()` (`mm/rmap.c`): a new anon_vma with refcount 1, registered on `m`. */
export function anon_vma_alloc(m: Machine): AnonVma {
  const id = m.mappings.allocId();
  const av = new AnonVma(id);
  m.mappings.anonVmas[id] = av;
  return av;
}

/** `get_anon_vma(anon_vma)`: pin it. */
export function get_anon_vma(av: AnonVma): void {
  av.refcount++;
}

/** `put_anon_vma(anon_vma)`: unpin it; the last put frees it (unregisters it from `m`). */
export function put_anon_vma(m: Machine, av: AnonVma): void {
  if (av.refcount <= 0) throw new MmError(EINVAL, 'put_anon_vma on a freed anon_vma', { rule: 'anon_vma refcount underflow' });
  if (--av.refcount === 0) m.mappings.anonVmas[av.id] = undefined;
}

/**
 * `__folio_set_anon(folio, vma, address, exclusive)` (`mm/rmap.c`): make the folio anonymous:
 * `mapping = anon_vma | FOLIO_MAPPING_ANON` and `index` its page offset in the VMA.
 */
export function __folio_set_anon(m: Machine, folio: Folio, av: AnonVma, index: number): void {
  m.memmap.mapping[folio] = av.ptr;
  m.memmap.index[folio] = index;
}

/** `folio_anon_vma(folio)` (`mm/util.c`): the anon_vma of an anonymous (non-KSM) folio, or null. */
export function folio_anon_vma(m: Machine, folio: Folio): AnonVma | null {
  const w = m.memmap.mapping[folio]!;
  if ((w & FOLIO_MAPPING_FLAGS) !== FOLIO_MAPPING_ANON) return null;
  return m.mappings.anonVmas[w >>> 2] ?? null;
}

/** `folio_test_ksm(folio)`: `mapping` low bits are FOLIO_MAPPING_KSM. */
export function folio_test_ksm(m: Machine, folio: Folio): boolean {
  return (m.memmap.mapping[folio]! & FOLIO_MAPPING_FLAGS) === FOLIO_MAPPING_KSM;
}

/**
 * `folio_get_anon_vma(folio)` (`mm/rmap.c`): pin the anon_vma of a mapped anonymous folio (migration
 * keeps it alive while the folio's PTEs are migration entries); null if the folio is not mapped.
 */
export function folio_get_anon_vma(m: Machine, folio: Folio, mapped: boolean): AnonVma | null {
  if (!mapped) return null;
  const av = folio_anon_vma(m, folio);
  if (av === null || av.refcount === 0) return null;
  av.refcount++;
  return av;
}
