import { inject, injectable } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import {
  EOPNOTSUPP,
  FolioOwnerOps,
  GFP_KERNEL,
  Machine,
  MmError,
  alloc_pages,
  asFolio,
  createMachine,
  folio_get,
  folio_get_owner_ops,
  folio_put,
  folio_ref_count,
  folio_set_owner_ops,
  folios_put,
  type Folio,
  type FreeDispatchStrategy,
  type MmPlugin,
} from '@mm/core';

/** A test owner: keeps its folios at refcount 0 in its own pool, recognised by PFN under mainline. */
@injectable()
class PoolOwner implements FolioOwnerOps {
  readonly name = 'test-pool';
  readonly pool: number[] = [];
  readonly freed: number[] = [];
  readonly mainline = { order: 5, claims: (f: Folio) => this.owned.has(f) };
  readonly owned = new Set<number>();
  constructor(@inject(Machine) readonly m: Machine) {}
  take(): Folio {
    const f = asFolio(alloc_pages(this.m, GFP_KERNEL, 0) as number);
    this.owned.add(f);
    if (this.m.strategy === 'owner-ops') folio_set_owner_ops(this.m, f, this);
    return f;
  }
  free(folio: Folio): void {
    this.freed.push(folio);
    this.pool.push(folio); // stays at refcount 0, owned by us, never reaches the buddy allocator
  }
}

const plugin: MmPlugin = {
  meta: { name: 'test-pool', version: '1.0.0' },
  register(c) {
    c.registerSingleton(PoolOwner);
    c.register(FolioOwnerOps, { useToken: PoolOwner });
  },
};

describe.each<FreeDispatchStrategy>(['owner-ops', 'mainline'])('folio_owner_ops dispatch, strategy %s', (strategy) => {
  const boot = () => {
    const m = createMachine({ memory: '64M', debugVm: true, strategy, plugins: [plugin] });
    return { m, owner: m.container.resolve(PoolOwner) };
  };

  it('calls the owner exactly once per 1→0 transition and never while references remain', () => {
    const { m, owner } = boot();
    const f = owner.take();
    folio_get(m, f);
    folio_put(m, f);
    expect(owner.freed).toEqual([]);
    folio_put(m, f);
    expect(owner.freed).toEqual([f]);
    expect(folio_ref_count(m, f)).toBe(0);
    // the page is not on a buddy or pcp list: the owner keeps it
    expect(m.memmap.mapcount[f]).toBe(-1);
    expect(owner.pool).toEqual([f]);
  });

  it('batched puts reach the owner too, and plain folios the allocator', () => {
    const { m, owner } = boot();
    const a = owner.take();
    const b = asFolio(alloc_pages(m, GFP_KERNEL, 0) as number);
    const byAllocator: number[] = [];
    m.trace.on('folio_freed', (e) => e.owner === 'page_alloc' && byAllocator.push(e.folio));
    folios_put(m, [a, b]);
    expect(owner.freed).toEqual([a]);
    expect(byAllocator).toEqual([b]);
  });

  it('tags the lru word with bit 1 only under series 1', () => {
    const { m, owner } = boot();
    const f = owner.take();
    if (strategy === 'owner-ops') {
      expect(m.memmap.lru[f]! & 3).toBe(2);
      expect(folio_get_owner_ops(m, f)).toBe(owner);
    } else {
      expect(m.memmap.lru[f]).toBe(0);
      expect(folio_get_owner_ops(m, f)).toBeNull();
      expect(() => folio_set_owner_ops(m, f, owner)).toThrowError(MmError);
      try {
        folio_set_owner_ops(m, f, owner);
      } catch (e) {
        expect((e as MmError).errno).toBe(EOPNOTSUPP);
      }
    }
  });
});

describe('machines are isolated', () => {
  it('two machines get two owner instances and separate id tables', () => {
    const a = createMachine({ memory: '16M', plugins: [plugin] });
    const b = createMachine({ memory: '16M', plugins: [plugin] });
    expect(a.container.resolve(PoolOwner)).not.toBe(b.container.resolve(PoolOwner));
    expect(a.container.resolve(PoolOwner).m).toBe(a);
    expect(a.ownerOps.all()).toHaveLength(1);
  });
});
