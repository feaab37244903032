import { inject, injectable } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import {
  FolioOwnerOps,
  GFP_HIGHUSER_MOVABLE,
  ListHead,
  MAINLINE_BRANCH_HUGETLB,
  MIGRATE_MODE,
  MR,
  Machine,
  NUMA_NO_NODE,
  VM_EVENT,
  __folio_set_hugetlb,
  alloc_migration_target,
  anon_vma_alloc,
  createMachine,
  folio_alloc,
  folio_clear_owner_ops,
  folio_mapcount,
  folio_put,
  folio_ref_count,
  folio_ref_unfreeze,
  folio_set_owner_ops,
  folio_test_hugetlb,
  folio_try_get,
  hugetlb_add_new_anon_rmap,
  isolate_folio_to_list,
  listFolios,
  migrate_pages,
  putback_movable_pages,
  type Folio,
  type FreeDispatchStrategy,
  type MigrationTargetControl,
  type MmPlugin,
} from '@mm/core';

/**
 * A stand-in for @mm/hugetlb, just enough to exercise the hooks the migration core calls: a pool of
 * order-9 hugetlb folios kept at refcount 0 when free, an active set, and the isolation protocol.
 */
@injectable()
class FakeHugetlb {
  readonly free = new Set<number>();
  readonly active = new Set<number>();
  readonly migratable = new Set<number>();
  readonly log: string[] = [];
  ops: FolioOwnerOps | null = null;
  constructor(@inject(Machine) readonly m: Machine) {}

  /** Boot-time pool: `n` folios, free (refcount 0). */
  fill(n: number): void {
    for (let i = 0; i < n; i++) {
      const f = folio_alloc(this.m, GFP_HIGHUSER_MOVABLE, 9) as Folio;
      __folio_set_hugetlb(this.m, f);
      this.setOwner(f);
      folio_put(this.m, f); // free_huge_folio keeps it
    }
  }

  /** Dequeue a free folio for use: refcount 1, active, migratable. */
  alloc(): Folio | -1 {
    const f = this.free.values().next().value as Folio | undefined;
    if (f === undefined) return -1;
    this.free.delete(f);
    folio_ref_unfreeze(this.m, f, 1);
    this.active.add(f);
    this.migratable.add(f);
    return f;
  }

  setOwner(f: Folio): void {
    if (this.m.strategy === 'owner-ops') folio_set_owner_ops(this.m, f, this.ops!);
  }

  /** `free_huge_folio`: back to the free pool at refcount 0. */
  freeFolio(f: Folio): void {
    this.active.delete(f);
    this.migratable.delete(f);
    this.free.add(f);
  }

  /** Fill in the machine hooks, as @mm/hugetlb's `init` does. */
  install(): void {
    const m = this.m;
    this.ops = m.container.resolve(FakeHugetlbOwnerOps);
    m.hooks.folio_isolate_hugetlb = (f) => {
      if (!this.migratable.has(f) || !folio_try_get(m, f)) return false;
      this.migratable.delete(f);
      if (m.strategy === 'owner-ops') folio_clear_owner_ops(m, f);
      this.log.push(`isolate ${f}`);
      return true;
    };
    m.hooks.folio_putback_hugetlb = (f) => {
      this.migratable.add(f);
      this.setOwner(f);
      this.log.push(`putback ${f}`);
      folio_put(m, f);
    };
    m.hooks.alloc_hugetlb_migration_target = () => this.alloc();
    m.hooks.move_hugetlb_state = (o, n) => {
      this.log.push(`move_hugetlb_state ${o} -> ${n}`);
      this.migratable.add(n);
    };
  }
}

/** Its owner-ops table: `free` is `free_huge_folio`; the mainline branch claims hugetlb folios. */
@injectable()
class FakeHugetlbOwnerOps implements FolioOwnerOps {
  readonly name = 'fake-hugetlb';
  readonly mainline = { order: MAINLINE_BRANCH_HUGETLB, claims: (f: Folio): boolean => folio_test_hugetlb(this.h.m, f) };
  constructor(@inject(FakeHugetlb) readonly h: FakeHugetlb) {}
  free(folio: Folio): void {
    this.h.freeFolio(folio);
  }
}

function hugetlbMachine(strategy: FreeDispatchStrategy): { m: Machine; h: FakeHugetlb } {
  const plugin: MmPlugin = {
    meta: { name: 'fake-hugetlb', version: '0' },
    register(c) {
      c.registerSingleton(FakeHugetlb);
      c.registerSingleton(FakeHugetlbOwnerOps);
      c.register(FolioOwnerOps, { useToken: FakeHugetlbOwnerOps });
    },
    init(m) {
      m.container.resolve(FakeHugetlb).install();
    },
  };
  const m = createMachine({ memory: '64M', debugVm: true, strategy, plugins: [plugin] });
  return { m, h: m.container.resolve(FakeHugetlb) };
}

describe.each(['owner-ops', 'mainline'] as FreeDispatchStrategy[])('hugetlb folios through the migration core hooks under %s', (strategy) => {
  it('migrate_hugetlbs: isolate, unmap, move, move_hugetlb_state, put the source back (freed to its pool), keep the destination mapped', () => {
    const { m, h } = hugetlbMachine(strategy);
    h.fill(2);
    const src = h.alloc() as Folio;
    hugetlb_add_new_anon_rmap(m, src, anon_vma_alloc(m), 0);
    expect(folio_mapcount(m, src)).toBe(1);
    const list = new ListHead();
    expect(isolate_folio_to_list(m, src, list)).toBe(true);
    expect(folio_ref_count(m, src)).toBe(2);
    const mtc: MigrationTargetControl = { nid: NUMA_NO_NODE, gfp_mask: GFP_HIGHUSER_MOVABLE, reason: MR.MR_MEMORY_HOTPLUG };
    const rc = migrate_pages(m, list, (s, c: MigrationTargetControl) => alloc_migration_target(m, s, c), null, mtc, MIGRATE_MODE.MIGRATE_SYNC, MR.MR_MEMORY_HOTPLUG);
    expect(rc).toBe(0);
    const dst = [...h.active].find((f) => f !== src)! as Folio;
    expect(h.log).toEqual([`isolate ${src}`, `move_hugetlb_state ${src} -> ${dst}`, `putback ${src}`]);
    expect(h.free.has(src)).toBe(true); // the source went back to the pool at refcount 0
    expect(folio_ref_count(m, src)).toBe(0);
    expect(folio_mapcount(m, dst)).toBe(1);
    expect(folio_ref_count(m, dst)).toBe(1); // its mapping's reference
    expect(m.vmEvents[VM_EVENT.pgmigrate_success]).toBe(512);
    expect(m.vmEvents[VM_EVENT.thp_migration_success]).toBe(0); // hugetlb is not counted as THP
  });

  it('without a destination (-ENOMEM) the hugetlb folio stays on the list and goes back with putback_movable_pages', () => {
    const { m, h } = hugetlbMachine(strategy);
    h.fill(1);
    const src = h.alloc() as Folio;
    const list = new ListHead();
    expect(isolate_folio_to_list(m, src, list)).toBe(true);
    expect(migrate_pages(m, list, () => -1 as const, null, undefined, MIGRATE_MODE.MIGRATE_SYNC, MR.MR_MEMORY_HOTPLUG)).toBe(-12);
    expect(listFolios(m, list)).toEqual([src]);
    putback_movable_pages(m, list);
    expect(h.log).toEqual([`isolate ${src}`, `putback ${src}`]);
    expect(folio_ref_count(m, src)).toBe(1);
    expect(h.migratable.has(src)).toBe(true);
  });
});
