/**
 * Slots handed out upward from `first`, freed slots reused last-in first-out: the slot management of
 * the kmem_caches zsmalloc takes its handles and zspage descriptors from, and of the model's page
 * store. The tables that index by slot grow their own arrays (see {@link grown}).
 */
export class SlotAllocator {
  private freeSlots = new Int32Array(64);
  private nFree = 0;
  private top: number;

  /** Slots start at `first` (1 for handles and zspages, whose 0 means "none"). */
  constructor(private readonly first: number) {
    this.top = first;
  }

  /** Slots in use. */
  get count(): number {
    return this.top - this.first - this.nFree;
  }

  /** One past the highest slot ever handed out (slots below it are in use or free). */
  get limit(): number {
    return this.top;
  }

  /** A slot: the last one given back, else a new one (then `limit` grows by one). */
  take(): number {
    return this.nFree > 0 ? this.freeSlots[--this.nFree]! : this.top++;
  }

  /** Give `slot` back for reuse. */
  give(slot: number): void {
    if (this.nFree === this.freeSlots.length) this.freeSlots = grown(this.freeSlots, this.nFree * 2);
    this.freeSlots[this.nFree++] = slot;
  }

  /** A copy of this allocator (for a machine checkpoint; see {@link restoreFrom}). */
  copy(): SlotAllocator {
    const c = new SlotAllocator(this.first);
    c.freeSlots = this.freeSlots.slice();
    c.nFree = this.nFree;
    c.top = this.top;
    return c;
  }

  /** Put the state of `c` (a {@link copy} of this allocator) back. */
  restoreFrom(c: SlotAllocator): void {
    if (this.freeSlots.length === c.freeSlots.length) this.freeSlots.set(c.freeSlots);
    else this.freeSlots = c.freeSlots.slice();
    this.nFree = c.nFree;
    this.top = c.top;
  }
}

/** The typed arrays the slot tables keep. */
export type SlotArray = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

/** A copy of `a` lengthened to `n` entries (the new ones 0). */
export function grown<T extends SlotArray>(a: T, n: number): T {
  const b = new (a.constructor as new (length: number) => T)(n);
  b.set(a);
  return b;
}
