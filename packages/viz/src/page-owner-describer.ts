import type { Machine, Pfn } from '@mm/core';
import type { PageOwnerKind } from './owner-kind.js';

/**
 * Classifies the folios one owner package holds, for the memory map. A plugin may register one with
 * `container.register(PageOwnerDescriber, { useValue: … })` in its `register(container)`; `@mm/viz`
 * brings describers for the owner packages of this repository (see `pageOwnerDescribers`).
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { GFP_KERNEL, createMachine, folio_alloc, type Folio, type MmPlugin, type Pfn } from '@mm/core';
 * import { PageOwnerDescriber, classifyPages, pageOwnerDescribers } from '@mm/viz';
 *
 * const mine = new Set<number>(); // the folios a hypothetical owner holds
 * const myPoolPlugin: MmPlugin = {
 *   meta: { name: 'my-pool', version: '1.0.0' },
 *   register(container) {
 *     container.register(PageOwnerDescriber, {
 *       useValue: {
 *         owner: 'my-pool',
 *         kinds: [{ name: 'my pool', color: '#123456', owner: 'my-pool' }],
 *         classifier: () => (head: Pfn) => (mine.has(head) ? 0 : -1),
 *       } satisfies PageOwnerDescriber,
 *     });
 *   },
 * };
 * const m = createMachine({ memory: '64M', plugins: [myPoolPlugin] });
 * mine.add(folio_alloc(m, GFP_KERNEL, 2) as Folio);
 * const map = classifyPages(m, await pageOwnerDescribers(m));
 * console.log(map.counts[map.kinds.findIndex((k) => k.name === 'my pool')]); // 4
 * ```
 */
export interface PageOwnerDescriber {
  /** The owner's name (`hugetlb`), as in its plugin's `meta.name`. */
  readonly owner: string;
  /** The kinds this owner paints, in legend order. */
  readonly kinds: readonly PageOwnerKind[];
  /**
   * Prepare a classifier for the machine's current state (walk the owner's lists once), returning a
   * function that gives, for a folio's head page (or a single page), the index in {@link kinds} of
   * its kind, or -1 if the folio is not this owner's. It is called once per folio, in PFN order, and
   * must not change the machine.
   */
  classifier(m: Machine): (head: Pfn) => number;
}

/** DI token of {@link PageOwnerDescriber} (resolved with `resolveAll` from the machine's container). */
export const PageOwnerDescriber = Symbol('@mm/viz:PageOwnerDescriber');
