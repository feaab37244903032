/**
 * guest_memfd's tracepoints, added to the core's event map by declaration merging. None of them
 * exists in the kernel; they make the conversion state machine observable.
 *
 * @module
 */

/** A folio of a guest_memfd changed conversion state. */
export interface GmemConversionEvent {
  /** Inode number of the guest_memfd. */
  readonly ino: number;
  /** First file index the folio covers. */
  readonly index: number;
  /** The folio (head PFN). */
  readonly folio: number;
  /** Pages in the folio. */
  readonly nr_pages: number;
}

/** A huge folio of a hugetlb-backed guest_memfd was split into order-0 pieces, merged back, or released. */
export interface GmemHugeFolioEvent {
  /** Inode number. */
  readonly ino: number;
  /** File index of the huge folio's first page. */
  readonly index: number;
  /** Head PFN. */
  readonly folio: number;
  /** Order of the huge folio. */
  readonly order: number;
}

declare module '@mm/core' {
  interface MmEvents {
    /** A shared→private conversion found extra references: the folio left the page cache and waits for its refcount to reach 0. */
    kvm_gmem_conversion_pending: (e: GmemConversionEvent) => void;
    /** The owner callback completed a pending conversion: the folio is private and back in the page cache. */
    kvm_gmem_conversion_done: (e: GmemConversionEvent) => void;
    /** A pending conversion was cancelled (hole punch or file release); the folio is freed at refcount 0. */
    kvm_gmem_conversion_cancelled: (e: GmemConversionEvent) => void;
    /** A hugetlb folio was split into order-0 pieces because part of it became shared. */
    kvm_gmem_huge_folio_split: (e: GmemHugeFolioEvent) => void;
    /** Order-0 pieces were merged back into their huge folio. */
    kvm_gmem_huge_folio_merge: (e: GmemHugeFolioEvent) => void;
    /** A huge page reached refcount 0 in every page and was handed back to hugetlb (which frees it into its pool). */
    kvm_gmem_huge_folio_release: (e: GmemHugeFolioEvent) => void;
  }
}
