import { EEXIST, EINVAL, Machine, MmError, PAGE_SIZE, anon_vma_alloc, folio_anon_vma, type Folio } from '@mm/core';
import { inject, injectable } from 'tsyringe';
import { VmAreaStruct, type MmStruct } from './mm-struct.js';

/**
 * Which VMA each `anon_vma` belongs to. The `anon_vma` objects are the core's (`anon_vma_alloc`, what
 * an anonymous folio's `mapping` names); the core counts mappings without locating them, so this table
 * gives the stand-in's rmap walk (`remove_migration_ptes`, `try_to_migrate`) the one VMA, and through
 * `index` the one PTE, of a folio. One VMA per anon_vma (no fork).
 */
@injectable()
export class AnonVmaTable {
  private readonly vmas = new Map<number, VmAreaStruct>();

  /**
   * The table of machine `m`.
   *
   * @param m - The machine whose anon_vmas this table maps.
   */
  constructor(@inject(Machine) readonly m: Machine) {}

  /** `anon_vma_prepare(vma)`: give `vma` a new core anon_vma and remember it. */
  prepare(vma: VmAreaStruct): void {
    if (vma.anon_vma !== null) return;
    vma.anon_vma = anon_vma_alloc(this.m);
    this.vmas.set(vma.anon_vma.id, vma);
  }

  /** The VMA an anonymous folio is (or was last) mapped in, through `folio->mapping`; null for others. */
  vmaOf(folio: Folio): VmAreaStruct | null {
    const av = folio_anon_vma(this.m, folio);
    return av === null ? null : (this.vmas.get(av.id) ?? null);
  }
}

/** The machine's {@link AnonVmaTable} (registered by `zoneDevicePlugin`). */
export function anonVmaTable(m: Machine): AnonVmaTable {
  return m.container.resolve(AnonVmaTable);
}

/**
 * Create an anonymous private mapping of `nrPages` pages at `start` (a fixed `mmap(MAP_ANONYMOUS |
 * MAP_PRIVATE | MAP_FIXED_NOREPLACE)`), with its anon_vma prepared. Nothing is populated: pages are
 * allocated by `handle_mm_fault` or by migration into the holes. `MmError(EINVAL)` for an unaligned or
 * empty range, `MmError(EEXIST)` if it overlaps an existing VMA.
 */
export function mmapAnonymous(mm: MmStruct, start: number, nrPages: number, vmFlags: number): VmAreaStruct {
  if (!(Number.isInteger(start) && start >= 0 && start % PAGE_SIZE === 0 && Number.isInteger(nrPages) && nrPages > 0)) {
    throw new MmError(EINVAL, `mmap: bad range ${start} + ${nrPages} pages`, { rule: 'page-aligned, non-empty' });
  }
  const end = start + nrPages * PAGE_SIZE;
  if (mm.vmas.some((v) => v.vm_start < end && start < v.vm_end)) {
    throw new MmError(EEXIST, 'mmap: the range overlaps an existing mapping', { rule: 'MAP_FIXED_NOREPLACE' });
  }
  const vma = new VmAreaStruct(mm, start, nrPages, vmFlags);
  anonVmaTable(mm.machine).prepare(vma);
  mm.vmas.push(vma);
  return vma;
}
