import { EventEmitter } from 'eventemitter3';

/** `kmem:mm_page_alloc` (`include/trace/events/kmem.h`). */
export interface MmPageAllocEvent {
  /** PFN of the first page of the allocated block. */
  readonly pfn: number;
  /** Allocation order. */
  readonly order: number;
  /** The GFP mask of the request (`GFP.*` bits). */
  readonly gfp_flags: number;
  /** Migratetype the request maps to (`gfp_migratetype`). */
  readonly migratetype: number;
}

/** `kmem:mm_page_free` (`include/trace/events/kmem.h`): a block freed to the page allocator. */
export interface MmPageFreeEvent {
  /** PFN of the first page of the freed block. */
  readonly pfn: number;
  /** Order of the freed block. */
  readonly order: number;
}

/** `kmem:mm_page_free_batched` (order-0 pages freed from a batch, e.g. `free_unref_folios`). */
export interface MmPageFreeBatchedEvent {
  /** PFN of the freed page. */
  readonly pfn: number;
}

/** `kmem:mm_page_pcpu_drain`: a page moved from a per-CPU list back to the buddy lists. */
export interface MmPagePcpuDrainEvent {
  /** PFN of the first page returned to the buddy lists. */
  readonly pfn: number;
  /** Order of the block. */
  readonly order: number;
  /** Migratetype of the per-CPU list it came from. */
  readonly migratetype: number;
}

/** `kmem:mm_page_alloc_zone_locked`: a block taken from the buddy lists under the zone lock. */
export interface MmPageAllocZoneLockedEvent {
  /** PFN of the first page of the block. */
  readonly pfn: number;
  /** Order of the block. */
  readonly order: number;
  /** Migratetype of the free list it was taken for. */
  readonly migratetype: number;
  /**
   * The kernel prints `pcp_allowed_order(order) && migratetype < MIGRATE_PCPTYPES` (a block of a kind
   * the per-CPU lists cache); the model sets it when the block refills a per-CPU list (`rmqueue_bulk`).
   */
  readonly percpu_refill: boolean;
}

/** `kmem:mm_page_alloc_extfrag`: an allocation fell back to another migratetype's free lists. */
export interface MmPageAllocExtfragEvent {
  /** PFN of the first page taken. */
  readonly pfn: number;
  /** Order that was requested. */
  readonly alloc_order: number;
  /** Order of the fallback free block it came from. */
  readonly fallback_order: number;
  /** Migratetype that was requested. */
  readonly alloc_migratetype: number;
  /** Migratetype of the free list it fell back to. */
  readonly fallback_migratetype: number;
  /** True if the pageblock was claimed for the requested migratetype, false if the block was only stolen. */
  readonly change_ownership: boolean;
}

/** A `bad_page()` report (`mm/page_alloc.c`): the page is leaked, as the kernel does. */
export interface BadPageEvent {
  /** PFN of the bad page. */
  readonly pfn: number;
  /** Why the page is bad (`bad_page`'s reason, e.g. `"nonzero mapcount"`). */
  readonly reason: string;
}

/**
 * A `page_ref:*` tracepoint (`include/trace/events/page_ref.h`, CONFIG_DEBUG_PAGE_REF): `v` is the value
 * after the operation.
 */
export interface PageRefEvent {
  /** PFN of the page whose `_refcount` changed. */
  readonly pfn: number;
  /** The `_refcount` after the operation (for a failed freeze: the unchanged count). */
  readonly v: number;
}

/**
 * Not a kernel tracepoint: the folio reached refcount 0 and `__folio_put` handed it to its owner
 * (`owner` is the owner's name, or `"page_alloc"` for the default path).
 */
export interface FolioFreedEvent {
  /** PFN of the freed folio (its head page). */
  readonly folio: number;
  /** Name of the owner that took the folio (`FolioOwnerOps.name`), or `"page_alloc"`. */
  readonly owner: string;
  /** The machine's free-dispatch strategy (`'owner-ops'` or `'mainline'`). */
  readonly strategy: string;
}

/** `migrate:mm_migrate_pages_start` (`include/trace/events/migrate.h`). */
export interface MmMigratePagesStartEvent {
  /** The `migrate_mode` (`MIGRATE_MODE.*`). */
  readonly mode: number;
  /** The `migrate_reason` (`MR.*`). */
  readonly reason: number;
}

/**
 * `migrate:mm_migrate_pages`: the outcome of one `migrate_pages()` call, in base pages except the THP
 * and split counts (the kernel's field names).
 */
export interface MmMigratePagesEvent {
  /** Base pages migrated. */
  readonly succeeded: number;
  /** Base pages that failed (untried folios are not counted). */
  readonly failed: number;
  /** THPs migrated. */
  readonly thp_succeeded: number;
  /** THPs that failed. */
  readonly thp_failed: number;
  /** THPs split before migrating. */
  readonly thp_split: number;
  /** Large folios split before migrating. */
  readonly large_folio_split: number;
  /** The `migrate_mode` (`MIGRATE_MODE.*`). */
  readonly mode: number;
  /** The `migrate_reason` (`MR.*`). */
  readonly reason: number;
}

/** `compaction:mm_compaction_begin` / the start fields of `mm_compaction_end`. */
export interface MmCompactionBeginEvent {
  /** First PFN of the zone. */
  readonly zone_start: number;
  /** Where the migration scanner starts (or ended). */
  readonly migrate_pfn: number;
  /** Where the free scanner starts (or ended). */
  readonly free_pfn: number;
  /** One past the zone's last PFN. */
  readonly zone_end: number;
  /** True unless the compaction is MIGRATE_ASYNC. */
  readonly sync: boolean;
}

/** `compaction:mm_compaction_end`: as begin, plus the `compact_result`. */
export interface MmCompactionEndEvent extends MmCompactionBeginEvent {
  /** The `compact_result` (`COMPACT.*`). */
  readonly status: number;
}

/** `compaction:mm_compaction_isolate_migratepages` / `mm_compaction_isolate_freepages`. */
export interface MmCompactionIsolateEvent {
  /** First PFN scanned. */
  readonly start_pfn: number;
  /** Where the scan stopped. */
  readonly end_pfn: number;
  /** PFNs scanned. */
  readonly nr_scanned: number;
  /** Pages isolated. */
  readonly nr_taken: number;
}

/** `compaction:mm_compaction_migratepages`: folios handed to `migrate_pages` and how many failed. */
export interface MmCompactionMigratepagesEvent {
  /** Folios handed to `migrate_pages`. */
  readonly nr_migratepages: number;
  /** Folios that were not migrated. */
  readonly nr_failed: number;
}

/** `compaction:mm_compaction_suitable` / `mm_compaction_finished` / `mm_compaction_deferred`. */
export interface MmCompactionZoneEvent {
  /** Node id. */
  readonly nid: number;
  /** Zone name. */
  readonly zone: string;
  /** The requested order (-1: `compact_memory`). */
  readonly order: number;
  /** The `compact_result`. */
  readonly ret: number;
}

/**
 * The event map of a machine's tracepoints. Owner packages add their own events by declaration
 * merging, e.g. `declare module '@mm/core' { interface MmEvents { ... } }`.
 */
export interface MmEvents {
  /** `kmem:mm_page_alloc`: the page allocator returned a block. */
  mm_page_alloc: (e: MmPageAllocEvent) => void;
  /** `kmem:mm_page_free`: a block was freed to the page allocator. */
  mm_page_free: (e: MmPageFreeEvent) => void;
  /** `kmem:mm_page_free_batched`: an order-0 page freed as part of a batch. */
  mm_page_free_batched: (e: MmPageFreeBatchedEvent) => void;
  /** `kmem:mm_page_pcpu_drain`: a per-CPU list gave a page back to the buddy lists. */
  mm_page_pcpu_drain: (e: MmPagePcpuDrainEvent) => void;
  /** `kmem:mm_page_alloc_zone_locked`: a block taken from the buddy lists under the zone lock. */
  mm_page_alloc_zone_locked: (e: MmPageAllocZoneLockedEvent) => void;
  /** `kmem:mm_page_alloc_extfrag`: an allocation fell back to another migratetype. */
  mm_page_alloc_extfrag: (e: MmPageAllocExtfragEvent) => void;
  /** A `bad_page()` report (`mm/page_alloc.c`). */
  bad_page: (e: BadPageEvent) => void;
  /** `page_ref:page_ref_mod_and_test`: a refcount change whose result was tested for zero. */
  page_ref_mod_and_test: (e: PageRefEvent) => void;
  /** `page_ref:page_ref_freeze`: `page_ref_freeze` ran (successfully or not). */
  page_ref_freeze: (e: PageRefEvent) => void;
  /** `page_ref:page_ref_unfreeze`: a frozen refcount was set again. */
  page_ref_unfreeze: (e: PageRefEvent) => void;
  /** Model event: `__folio_put` handed a folio to its owner or to the page allocator. */
  folio_freed: (e: FolioFreedEvent) => void;
  /** `migrate:mm_migrate_pages_start`: a `migrate_pages()` call begins. */
  mm_migrate_pages_start: (e: MmMigratePagesStartEvent) => void;
  /** `migrate:mm_migrate_pages`: a `migrate_pages()` call ended. */
  mm_migrate_pages: (e: MmMigratePagesEvent) => void;
  /** `compaction:mm_compaction_begin`: `compact_zone()` starts scanning. */
  mm_compaction_begin: (e: MmCompactionBeginEvent) => void;
  /** `compaction:mm_compaction_end`: `compact_zone()` returns. */
  mm_compaction_end: (e: MmCompactionEndEvent) => void;
  /** `compaction:mm_compaction_isolate_migratepages`: one `isolate_migratepages_block()` call. */
  mm_compaction_isolate_migratepages: (e: MmCompactionIsolateEvent) => void;
  /** `compaction:mm_compaction_isolate_freepages`: one `isolate_freepages_block()` call. */
  mm_compaction_isolate_freepages: (e: MmCompactionIsolateEvent) => void;
  /** `compaction:mm_compaction_migratepages`: one batch handed to `migrate_pages()`. */
  mm_compaction_migratepages: (e: MmCompactionMigratepagesEvent) => void;
  /** `compaction:mm_compaction_suitable`: the `compaction_suitable()` verdict. */
  mm_compaction_suitable: (e: MmCompactionZoneEvent) => void;
  /** `compaction:mm_compaction_finished`: the `__compact_finished()` verdict. */
  mm_compaction_finished: (e: MmCompactionZoneEvent) => void;
  /** `compaction:mm_compaction_defer_compaction`: compaction of a zone was deferred. */
  mm_compaction_deferred: (e: MmCompactionZoneEvent) => void;
}

/**
 * A machine's tracepoints: a typed eventemitter3 whose `active` flag is true while anyone listens,
 * so hot paths test one boolean and build no payload otherwise.
 */
export class TraceEvents extends EventEmitter<MmEvents> {
  /** True while at least one listener is attached. */
  active = false;

  /** Attach a listener (and mark the tracepoints active). */
  override on<T extends EventEmitter.EventNames<MmEvents>>(
    event: T,
    fn: EventEmitter.EventListener<MmEvents, T>,
    context?: unknown,
  ): this {
    super.on(event, fn, context);
    this.active = true;
    return this;
  }

  /** Attach a listener (alias of `on`). */
  override addListener<T extends EventEmitter.EventNames<MmEvents>>(
    event: T,
    fn: EventEmitter.EventListener<MmEvents, T>,
    context?: unknown,
  ): this {
    return this.on(event, fn, context);
  }

  /** Attach a one-shot listener. */
  override once<T extends EventEmitter.EventNames<MmEvents>>(
    event: T,
    fn: EventEmitter.EventListener<MmEvents, T>,
    context?: unknown,
  ): this {
    super.once(event, fn, context);
    this.active = true;
    return this;
  }

  /** Detach a listener. */
  override off<T extends EventEmitter.EventNames<MmEvents>>(
    event: T,
    fn?: EventEmitter.EventListener<MmEvents, T>,
    context?: unknown,
    once?: boolean,
  ): this {
    super.off(event, fn, context, once);
    this.active = this.eventNames().length > 0;
    return this;
  }

  /** Detach a listener (alias of `off`). */
  override removeListener<T extends EventEmitter.EventNames<MmEvents>>(
    event: T,
    fn?: EventEmitter.EventListener<MmEvents, T>,
    context?: unknown,
    once?: boolean,
  ): this {
    return this.off(event, fn, context, once);
  }

  /** Detach every listener of `event`, or of all events. */
  override removeAllListeners(event?: EventEmitter.EventNames<MmEvents>): this {
    super.removeAllListeners(event);
    this.active = this.eventNames().length > 0;
    return this;
  }
}
