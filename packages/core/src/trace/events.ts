import { EventEmitter } from 'eventemitter3';

/** `kmem:mm_page_alloc` (`include/trace/events/kmem.h`). */
export interface MmPageAllocEvent {
  readonly pfn: number;
  readonly order: number;
  readonly gfp_flags: number;
  readonly migratetype: number;
}

/** `kmem:mm_page_free`. */
export interface MmPageFreeEvent {
  readonly pfn: number;
  readonly order: number;
}

/** `kmem:mm_page_free_batched` (order-0 pages freed from a batch, e.g. `free_unref_folios`). */
export interface MmPageFreeBatchedEvent {
  readonly pfn: number;
}

/** `kmem:mm_page_pcpu_drain`: a page moved from a per-CPU list back to the buddy lists. */
export interface MmPagePcpuDrainEvent {
  readonly pfn: number;
  readonly order: number;
  readonly migratetype: number;
}

/** `kmem:mm_page_alloc_zone_locked`: a block taken from the buddy lists under the zone lock. */
export interface MmPageAllocZoneLockedEvent {
  readonly pfn: number;
  readonly order: number;
  readonly migratetype: number;
  readonly percpu_refill: boolean;
}

/** `kmem:mm_page_alloc_extfrag`: an allocation fell back to another migratetype's free lists. */
export interface MmPageAllocExtfragEvent {
  readonly pfn: number;
  readonly alloc_order: number;
  readonly fallback_order: number;
  readonly alloc_migratetype: number;
  readonly fallback_migratetype: number;
  readonly change_ownership: boolean;
}

/** A `bad_page()` report (`mm/page_alloc.c`): the page is leaked, as the kernel does. */
export interface BadPageEvent {
  readonly pfn: number;
  readonly reason: string;
}

/** A `page_ref:*` tracepoint (CONFIG_DEBUG_PAGE_REF): `v` is the value after the operation. */
export interface PageRefEvent {
  readonly pfn: number;
  readonly v: number;
}

/**
 * Not a kernel tracepoint: the folio reached refcount 0 and `__folio_put` handed it to its owner
 * (`owner` is the owner's name, or `"page_alloc"` for the default path).
 */
export interface FolioFreedEvent {
  readonly folio: number;
  readonly owner: string;
  readonly strategy: string;
}

/**
 * The event map of a machine's tracepoints. Owner packages add their own events by declaration
 * merging, e.g. `declare module '@mm/core' { interface MmEvents { ... } }`.
 */
export interface MmEvents {
  mm_page_alloc: (e: MmPageAllocEvent) => void;
  mm_page_free: (e: MmPageFreeEvent) => void;
  mm_page_free_batched: (e: MmPageFreeBatchedEvent) => void;
  mm_page_pcpu_drain: (e: MmPagePcpuDrainEvent) => void;
  mm_page_alloc_zone_locked: (e: MmPageAllocZoneLockedEvent) => void;
  mm_page_alloc_extfrag: (e: MmPageAllocExtfragEvent) => void;
  bad_page: (e: BadPageEvent) => void;
  page_ref_mod_and_test: (e: PageRefEvent) => void;
  page_ref_freeze: (e: PageRefEvent) => void;
  page_ref_unfreeze: (e: PageRefEvent) => void;
  folio_freed: (e: FolioFreedEvent) => void;
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
