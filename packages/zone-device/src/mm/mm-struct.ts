import { PAGE_SHIFT, PAGE_SIZE, type AnonVma, type Machine, type Pfn } from '@mm/core';

/**
 * A minimal model of process memory — an `mm_struct` with anonymous VMAs and one flat page table per
 * VMA — just enough for device-private migration (`migrate_vma_*`, `migrate_to_ram`) to run end to end.
 * `@mm/core` models anon_vmas and rmap accounting but no page tables (mappings are counted, not
 * located); device migration must know where each page is mapped and whether the entry is a present
 * PTE, a migration entry or a device-private entry, so this package adds page tables on top of the
 * core's anon_vma and rmap calls. Not modelled: page-table levels, the zero page, fork/COW, swap, THP,
 * per-mm RSS counters; every anonymous folio is mapped at most once. The core's own migration
 * (compaction, offlining) does not know these page tables: a folio it moved would leave a stale PTE,
 * so scenarios keep memory roomy enough that compaction does not run.
 *
 * Addresses are byte addresses (multiples of `PAGE_SIZE`).
 *
 * @module
 */

/** `VM_READ`. */
export const VM_READ = 0x1;
/** `VM_WRITE`. */
export const VM_WRITE = 0x2;

/** `FAULT_FLAG_WRITE`: the fault is a write. */
export const FAULT_FLAG_WRITE = 0x1;
/** `VM_FAULT_OOM` (`enum vm_fault_reason`). */
export const VM_FAULT_OOM = 0x1;
/** `VM_FAULT_SIGBUS`. */
export const VM_FAULT_SIGBUS = 0x2;

/** What a page-table entry holds (`pte_none`, a present PTE, or one of two swap-like entries). */
export const PTE_KIND = {
  /** `pte_none()`. */
  none: 0,
  /** A present PTE mapping a page. */
  present: 1,
  /** A migration entry (`make_*_migration_entry`), while the page is being migrated. */
  migration: 2,
  /** A device-private entry (`make_*_device_private_entry`): the page lives in device memory. */
  device_private: 3,
} as const;

/** Bits of {@link VmAreaStruct.pteBits} above the kind (bits 0–1). */
export const PTE_BIT = {
  /** Writable (`pte_write`, writable migration / device-private entry). */
  write: 4,
  /** Dirty (`pte_dirty`, dirty migration entry). */
  dirty: 8,
  /** A readable-exclusive migration entry (the page was PageAnonExclusive). */
  exclusive: 16,
} as const;

/** A decoded page-table entry. */
export interface PteView {
  /** `none`, `present`, `migration` or `device_private`. */
  readonly kind: 'none' | 'present' | 'migration' | 'device_private';
  /** The PFN the entry points at, or -1. */
  readonly pfn: number;
  /** Writable. */
  readonly write: boolean;
}

const KIND_NAMES = ['none', 'present', 'migration', 'device_private'] as const;

/** `struct mm_struct`: a process address space (its VMAs). */
export class MmStruct {
  /** The machine the process runs on. */
  readonly machine: Machine;
  /** The VMAs, in creation order. */
  readonly vmas: VmAreaStruct[] = [];

  /** An empty address space on machine `m`. */
  constructor(m: Machine) {
    this.machine = m;
  }
}

/**
 * `struct vm_area_struct` for an anonymous mapping, with its page table: `ptePfn[i]` and `pteBits[i]`
 * describe the page at `vm_start + i * PAGE_SIZE` (bits 0–1 the {@link PTE_KIND}, then {@link PTE_BIT}).
 */
export class VmAreaStruct {
  /** `vm_mm`. */
  readonly vm_mm: MmStruct;
  /** `vm_start`. */
  readonly vm_start: number;
  /** `vm_end` (exclusive). */
  readonly vm_end: number;
  /** `vm_flags` (`VM_READ | VM_WRITE`). */
  readonly vm_flags: number;
  /** `vm_pgoff`: for anonymous memory, `vm_start >> PAGE_SHIFT`. */
  readonly vm_pgoff: number;
  /** Its `anon_vma` (what `folio->mapping` of its anonymous folios points at), once prepared. */
  anon_vma: AnonVma | null = null;
  /** PFN per page, -1 for `pte_none`. */
  readonly ptePfn: Int32Array;
  /** Kind and bits per page. */
  readonly pteBits: Uint8Array;

  /** A VMA of `nrPages` pages at `start`. */
  constructor(mm: MmStruct, start: number, nrPages: number, vmFlags: number) {
    this.vm_mm = mm;
    this.vm_start = start;
    this.vm_end = start + nrPages * PAGE_SIZE;
    this.vm_flags = vmFlags;
    this.vm_pgoff = start / PAGE_SIZE;
    this.ptePfn = new Int32Array(nrPages).fill(-1);
    this.pteBits = new Uint8Array(nrPages);
  }

  /** Index of `addr` in the page table. */
  slot(addr: number): number {
    return (addr - this.vm_start) / PAGE_SIZE;
  }

  /** Decode the entry at `addr`. */
  pteAt(addr: number): PteView {
    const i = this.slot(addr);
    const b = this.pteBits[i]!;
    return { kind: KIND_NAMES[b & 3]!, pfn: this.ptePfn[i]!, write: (b & PTE_BIT.write) !== 0 };
  }

  /** `set_pte_at`: store an entry at `addr`. */
  setPte(addr: number, kind: number, pfn: number, bits = 0): void {
    const i = this.slot(addr);
    this.ptePfn[i] = kind === PTE_KIND.none ? -1 : pfn;
    this.pteBits[i] = kind === PTE_KIND.none ? 0 : kind | bits;
  }
}

/**
 * `struct vm_fault`, as `do_swap_page` hands it to `migrate_to_ram`: the VMA, the faulting address,
 * the device-private page and the fault flags.
 */
export interface VmFault {
  /** `vma`. */
  readonly vma: VmAreaStruct;
  /** `address` (page aligned). */
  readonly address: number;
  /** `page`: the device-private page the entry points at. */
  readonly page: Pfn;
  /** `flags` (`FAULT_FLAG_*`). */
  readonly flags: number;
}

/** `vma_lookup(mm, addr)`: the VMA containing `addr`, or null. */
export function vma_lookup(mm: MmStruct, addr: number): VmAreaStruct | null {
  for (const v of mm.vmas) if (addr >= v.vm_start && addr < v.vm_end) return v;
  return null;
}

/** `linear_page_index(vma, addr)`: the page offset `folio->index` records for `addr`. */
export function linear_page_index(vma: VmAreaStruct, addr: number): number {
  return ((addr - vma.vm_start) >> PAGE_SHIFT) + vma.vm_pgoff;
}
