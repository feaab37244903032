import { inject, injectable } from 'tsyringe';
import {
  GFP_HIGHUSER_MOVABLE,
  ListHead,
  Machine,
  MovableOperations,
  PGTY_FIRST_FREE,
  SetPageMovableOps,
  alloc_page,
  anon_vma_alloc,
  createMachine,
  folio_nr_pages,
  folio_order,
  faultInAnonFolio,
  folio_alloc,
  folio_get,
  folio_isolate_lru,
  listAddTail,
  lru_add_drain_all,
  mod_isolated,
  put_page,
  set_page_type,
  type AnonVma,
  type Folio,
  type FreeDispatchStrategy,
  type MmPlugin,
  type Pfn,
} from '@mm/core';

/** The plugin page type the test movable_ops owner uses (admitted with `experimentalMovableOpsTypes`). */
export const PGTY_TEST = PGTY_FIRST_FREE;

/**
 * A tiny movable_ops owner for tests, like a balloon driver: it holds one reference on each page it
 * owns, marks them with its page type and PG_movable_ops, and migrates them by taking the new page
 * and dropping the old one. `migrateRc` makes `migrate_page` fail with that value.
 */
@injectable()
export class TestMovablePool implements MovableOperations {
  readonly pageType: number = PGTY_TEST;
  readonly owned = new Set<number>();
  readonly isolated = new Set<number>();
  readonly log: string[] = [];
  migrateRc = 0;
  refuseIsolate = false;
  constructor(@inject(Machine) readonly m: Machine) {}

  /** Allocate a page, type it, mark it movable; the pool holds its reference. */
  take(gfp = GFP_HIGHUSER_MOVABLE): Pfn {
    const p = alloc_page(this.m, gfp) as Pfn;
    if (p < 0) throw new Error('out of memory');
    set_page_type(this.m, p, this.pageType);
    SetPageMovableOps(this.m, p);
    this.owned.add(p);
    return p;
  }

  /** Give a page back: forget it and drop our reference (it is freed unless someone else holds one). */
  release(p: Pfn): void {
    this.owned.delete(p);
    put_page(this.m, p);
  }

  isolate_page(page: Pfn): boolean {
    this.log.push(`isolate ${page}`);
    if (this.refuseIsolate || !this.owned.has(page)) return false;
    this.owned.delete(page);
    this.isolated.add(page);
    return true;
  }

  migrate_page(dst: Pfn, src: Pfn): number {
    this.log.push(`migrate ${src}->${dst}`);
    if (this.migrateRc !== 0) return this.migrateRc;
    this.isolated.delete(src);
    set_page_type(this.m, dst, this.pageType);
    SetPageMovableOps(this.m, dst);
    folio_get(this.m, dst as Folio);
    this.owned.add(dst);
    put_page(this.m, src);
    return 0;
  }

  putback_page(page: Pfn): void {
    this.log.push(`putback ${page}`);
    this.isolated.delete(page);
    this.owned.add(page);
  }
}

/** A plugin registering {@link TestMovablePool} as the machine's movable_ops provider for {@link PGTY_TEST}. */
export function testMovablePlugin(): MmPlugin {
  return {
    meta: { name: 'test-movable', version: '0.0.0' },
    register(c) {
      c.registerSingleton(TestMovablePool);
      c.register(MovableOperations, { useToken: TestMovablePool });
    },
  };
}

/** A machine with the test movable_ops owner installed. */
export function machineWithPool(config: { memory?: string; movablecore?: string; nodes?: number; strategy?: FreeDispatchStrategy; debugVm?: boolean } = {}): { m: Machine; pool: TestMovablePool } {
  const m = createMachineWith(config);
  return { m, pool: m.container.resolve(TestMovablePool) };
}

function createMachineWith(config: { memory?: string; movablecore?: string; nodes?: number; strategy?: FreeDispatchStrategy; debugVm?: boolean }): Machine {
  return createMachine({ memory: '64M', debugVm: true, ...config, experimentalMovableOpsTypes: [PGTY_TEST], plugins: [testMovablePlugin()] });
}

/** Fault in `n` anonymous folios of `order` (mapped once per page, on the LRU after the drain). */
export function anonFolios(m: Machine, n: number, order = 0, av: AnonVma = anon_vma_alloc(m), gfp = GFP_HIGHUSER_MOVABLE): Folio[] {
  return m.withChecksDeferred('anonFolios', () => {
    const out: Folio[] = [];
    for (let i = 0; i < n; i++) {
      const f = folio_alloc(m, gfp, order) as Folio;
      if (f < 0) throw new Error('out of memory');
      faultInAnonFolio(m, f, av, i << order);
      out.push(f);
    }
    lru_add_drain_all(m);
    return out;
  });
}

/** Isolate LRU folios onto a new list with NR_ISOLATED_*, as a migration caller does. */
export function isolateAll(m: Machine, folios: readonly Folio[]): ListHead {
  return m.withChecksDeferred('isolateAll', () => {
    const list = new ListHead();
    for (const f of folios) {
      if (!folio_isolate_lru(m, f)) throw new Error(`folio ${f} not on the LRU`);
      mod_isolated(m, f, folio_nr_pages(m, f));
      listAddTail(m, list, f);
    }
    return list;
  });
}

/** A `get_new_folio` that allocates with `folio_alloc` on `nid` and records what it handed out. */
export function allocator(m: Machine, nid = 0, gfp = GFP_HIGHUSER_MOVABLE): { alloc: (src: Folio) => Folio | -1; given: Folio[] } {
  const given: Folio[] = [];
  return {
    given,
    alloc: (src: Folio) => {
      const d = folio_alloc(m, gfp, folio_order(m, src), nid);
      if (d >= 0) given.push(d as Folio);
      return d;
    },
  };
}
