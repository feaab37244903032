import { inject, injectable } from 'tsyringe';
import { MAINLINE_BRANCH_HUGETLB, Machine, MmError, ENODEV, type Folio, type FolioOwnerOps, type MainlineFreeBranch } from '@mm/core';
import type { Kvm } from '../kvm/kvm.js';
import type { GmemFile } from './gmem-file.js';
import { handleFolioPut } from './pending.js';
import type { LentHugeFolio } from './hugetlb-backing.js';

/**
 * Position of guest_memfd's branch in mainline `__folio_put`: after zone device (0) and hugetlb (1).
 */
export const MAINLINE_BRANCH_GUEST_MEMFD = MAINLINE_BRANCH_HUGETLB + 1;

/** `marks` bit: the folio waits for a pending shared→private conversion to complete. */
export const GMEM_MARK_PENDING = 1;
/** `marks` bit: the page belongs to a huge page hugetlb lent to a guest_memfd (whole or split). */
export const GMEM_MARK_HUGETLB = 2;

/** A folio whose shared→private conversion waits for its refcount to reach 0. */
export interface PendingConversion {
  /** The file it will return to, or null once the conversion was cancelled (hole punch, release). */
  file: GmemFile | null;
  /** The first file index the folio covers. */
  readonly index: number;
  /** Its pages. */
  readonly nrPages: number;
}

/**
 * guest_memfd on one machine: its files and VMs, the pending conversions, the huge
 * pages hugetlb lent to it, and the folio owner every pending folio and every folio of lent hugetlb
 * memory is handed to when its refcount reaches 0.
 *
 * **Series 1 (`owner-ops` strategy).** While a folio is pending (and for as long as it is lent hugetlb
 * memory), its lru word carries these ops (`folio_set_owner_ops`), so `__folio_put` calls
 * {@link GuestMemfd.free} exactly once per 1→0 transition, which runs `kvm_gmem_handle_folio_put`.
 *
 * **Mainline strategy.** `folio_set_owner_ops` does not exist there, so the deferred design needs an
 * explicit branch of its own, {@link GuestMemfd.mainline}: `claims(folio)` is true for exactly the
 * folios that would carry the ops. For the kernel this means one more `if` in `__folio_put` and in
 * `folios_put_refs`, after the zone-device and hugetlb ones — `if (folio_test_guestmem(folio)) {
 * kvm_gmem_handle_folio_put(folio); return; }` — which is what Matthew Wilcox asked for instead of
 * an indirect call (§12.1). The test needs a marker in struct page: Fuad Tabba's v7 used a page type
 * (`PGTY_guestmem`), possible only because pending and private folios are never mapped (the type shares
 * `_mapcount`); the model uses a side table indexed by PFN. And because KVM can be a module, core mm
 * cannot call into it directly (Sean Christopherson's review of v7): the branch would have to go
 * through a built-in guest_memfd shim.
 */
@injectable()
export class GuestMemfd implements FolioOwnerOps {
  /** The owner's name in `folio_freed` events and `dump_page`. */
  readonly name = 'guest_memfd';
  /** The explicit `__folio_put` branch used under the `mainline` strategy. */
  readonly mainline: MainlineFreeBranch;
  /** The machine. */
  readonly m: Machine;
  /** Live (not yet evicted) files. */
  readonly files = new Set<GmemFile>();
  /** VMs created with `kvm_create_vm`. */
  readonly vms: Kvm[] = [];
  /** Pending conversions by folio. */
  readonly pending = new Map<number, PendingConversion>();
  /** Huge pages lent by hugetlb, by the PFN of each of their pages. */
  readonly lent = new Map<number, LentHugeFolio>();
  /** Per PFN: {@link GMEM_MARK_PENDING} and {@link GMEM_MARK_HUGETLB} bits (the `claims` test). */
  marks: Uint8Array;
  /** How many times the refcount-0 callback ran. */
  freeCalls = 0;
  /** Inode numbers handed out. */
  lastIno = 0;

  /** One instance per machine (registered as a singleton in the machine's container). */
  constructor(@inject(Machine) m: Machine) {
    this.m = m;
    this.marks = new Uint8Array(m.memmap.nrPages);
    this.mainline = { order: MAINLINE_BRANCH_GUEST_MEMFD, claims: (folio: Folio) => this.claims(folio) };
  }

  /** The guest_memfd state of `m`; `MmError(ENODEV)` if the plugin is not installed. */
  static of(m: Machine): GuestMemfd {
    if (!m.container.isRegistered(GuestMemfd, true)) {
      throw new MmError(ENODEV, 'guest_memfd is not installed on this machine', { rule: 'add guestMemfdPlugin() to the machine' });
    }
    return m.container.resolve(GuestMemfd);
  }

  /** The mainline branch's test: the folio is pending or lent hugetlb memory. */
  claims(folio: Folio): boolean {
    return folio < this.marks.length && this.marks[folio] !== 0;
  }

  /** Set mark bits on a PFN (growing the table if the memmap grew). */
  mark(pfn: number, bits: number): void {
    if (pfn >= this.marks.length) {
      const t = new Uint8Array(Math.max(pfn + 1, this.m.memmap.nrPages));
      t.set(this.marks);
      this.marks = t;
    }
    this.marks[pfn]! |= bits;
  }

  /** Clear mark bits on a PFN. */
  unmark(pfn: number, bits: number): void {
    if (pfn < this.marks.length) this.marks[pfn]! &= ~bits;
  }

  /** `folio_owner_ops.free`: the refcount of a pending folio or of lent hugetlb memory reached 0. */
  free(folio: Folio): void {
    handleFolioPut(this, folio);
  }
}
