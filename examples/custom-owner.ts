/**
 * Writing a new page owner against the public API alone: a "page pool" that takes pages from the
 * buddy allocator once and keeps them. Its folios go back to its pool — not to the allocator — when
 * their refcount reaches 0, because the pool provides `FolioOwnerOps`:
 * - under series 1 (`owner-ops` strategy) it tags each folio's lru word with its ops (bit 1);
 * - under `mainline` it provides the explicit `__folio_put` branch upstream would need
 *   (`mainline.claims`), since mainline has no generic callback.
 * The same scenario runs under both strategies and prints the same result.
 *
 * Run: node --import tsx examples/custom-owner.ts
 */
import 'reflect-metadata';
import { instanceCachingFactory } from 'tsyringe';
import {
  FolioOwnerOps,
  GFP_KERNEL,
  Machine,
  alloc_pages,
  asFolio,
  createMachine,
  folio_get,
  folio_put,
  folio_ref_count,
  folio_ref_unfreeze,
  folio_set_owner_ops,
  type Folio,
  type FreeDispatchStrategy,
  type MmPlugin,
} from '@mm/core';

/** A pool of order-0 pages that its users borrow and that come home at refcount 0. */
class PagePool implements FolioOwnerOps {
  readonly name = 'page-pool';
  /** Pages waiting in the pool, at refcount 0 (like hugetlb's free lists). */
  private readonly pages: Folio[] = [];
  private readonly mine = new Set<number>();
  /** Times `free` ran. */
  returned = 0;
  /** Mainline has no generic hook: this is the `if` upstream would add to `__folio_put`. */
  readonly mainline = { order: 10, claims: (folio: Folio): boolean => this.mine.has(folio) };

  constructor(private readonly m: Machine) {}

  /** Take `n` pages from the buddy allocator into the pool. */
  fill(n: number): void {
    for (let i = 0; i < n; i++) {
      const pfn = alloc_pages(this.m, GFP_KERNEL, 0);
      if (pfn === -1) throw new Error('out of memory');
      const folio = asFolio(pfn);
      this.mine.add(folio);
      if (this.m.strategy === 'owner-ops') folio_set_owner_ops(this.m, folio, this);
      folio_put(this.m, folio); // refcount 1 → 0: our own free() puts it in the pool
    }
  }

  /** Lend a folio: refcount 0 → 1, as hugetlb's dequeue does. */
  borrow(): Folio {
    const folio = this.pages.pop();
    if (folio === undefined) throw new Error('pool empty');
    folio_ref_unfreeze(this.m, folio, 1);
    return folio;
  }

  /** `FolioOwnerOps.free`: the last reference is gone; keep the page. */
  free(folio: Folio): void {
    this.returned++;
    this.pages.push(folio);
  }

  /** Pages in the pool. */
  get size(): number {
    return this.pages.length;
  }
}

/** The plugin: data, registering one pool per machine in the machine's own container. */
const pagePoolPlugin: MmPlugin = {
  meta: { name: 'page-pool', version: '1.0.0' },
  register(container) {
    container.register(PagePool, { useFactory: instanceCachingFactory((c) => new PagePool(c.resolve(Machine))) });
    container.register(FolioOwnerOps, { useToken: PagePool });
  },
  init(m) {
    m.container.resolve(PagePool).fill(8);
  },
};

for (const strategy of ['owner-ops', 'mainline'] as FreeDispatchStrategy[]) {
  const m = createMachine({ memory: '64M', strategy, debugVm: true, plugins: [pagePoolPlugin] });
  const pool = m.container.resolve(PagePool);
  const a = pool.borrow();
  folio_get(m, a); // someone else takes a reference too
  folio_put(m, a);
  const stillOut = folio_ref_count(m, a);
  folio_put(m, a); // the last one: back to the pool, not to the buddy allocator
  console.log(
    `[${strategy}] pool of ${pool.size} pages; borrowed pfn 0x${a.toString(16)} had refcount ${stillOut} after one put, ` +
      `came home at refcount ${folio_ref_count(m, a)}; free() ran ${pool.returned} times; lru word 0x${m.memmap.lru[a]!.toString(16)}`,
  );
}
