import { MmError } from '../debug/mm-error.js';
import { assertFolio } from '../debug/validate.js';
import { EBUSY, EINVAL, EOPNOTSUPP } from '../errno.js';
import type { Machine } from '../machine/machine.js';
import { FOLIO_OWNER_OPS, PTR_TAG_MASK, id_ptr, ptr_id } from '../page/word.js';
import type { Folio } from '../types.js';

/**
 * `struct folio_owner_ops` (series 1, RFC v1 patch 7, `include/linux/mm_types.h`): what an owner
 * other than the page allocator does when one of its folios' refcount reaches 0.
 *
 * Contract of `free`: called exactly once per 1→0 transition of a folio whose lru word carries these
 * ops, never while the count is above 0; it owns everything that follows (LRU, memcg, returning the
 * memory, or keeping it at refcount 0 in its own pool). It must not throw.
 */
export interface FolioOwnerOps {
  /** The owner's name, used in events and `dump_page` (`"hugetlb"`, `"zone_device"`, …). */
  readonly name: string;
  /** The folio's refcount just reached 0. */
  free(folio: Folio): void;
  /**
   * The explicit branch this owner needs in mainline's `__folio_put` when the machine runs the
   * `mainline` strategy (upstream has one for zone device, then one for hugetlb). Omit it for an
   * owner that exists only under series 1.
   */
  readonly mainline?: MainlineFreeBranch;
}

/** One `if (...) { free...; return; }` branch of mainline `__folio_put` (`mm/swap.c`). */
export interface MainlineFreeBranch {
  /** Position in `__folio_put`: zone device is {@link MAINLINE_BRANCH_ZONE_DEVICE}, hugetlb {@link MAINLINE_BRANCH_HUGETLB}. */
  readonly order: number;
  /** True if this branch takes the folio (e.g. `folio_is_zone_device(folio)`). */
  claims(folio: Folio): boolean;
}

/** Position of the zone-device branch in mainline `__folio_put`. */
export const MAINLINE_BRANCH_ZONE_DEVICE = 0;
/** Position of the hugetlb branch in mainline `__folio_put`. */
export const MAINLINE_BRANCH_HUGETLB = 1;

/** DI token for {@link FolioOwnerOps} providers; the core resolves all of them at boot. */
export const FolioOwnerOps = Symbol('@mm/core:FolioOwnerOps');

/**
 * The machine's owner-ops table: ids stand for the kernel's `const struct folio_owner_ops *`
 * pointers, so that `id * 4 | FOLIO_OWNER_OPS` is a real tagged word in the memmap.
 */
export class OwnerOpsTable {
  private readonly byId: (FolioOwnerOps | undefined)[] = [undefined];
  private readonly ids = new Map<FolioOwnerOps, number>();

  /** Install `ops` and return its id (≥ 1). `EBUSY` if it is installed already. */
  install(ops: FolioOwnerOps): number {
    if (this.ids.has(ops)) throw new MmError(EBUSY, `owner ops "${ops.name}" installed twice`, { rule: 'an owner registers once' });
    const id = this.byId.length;
    this.byId.push(ops);
    this.ids.set(ops, id);
    return id;
  }

  /** Remove `ops` (its id is not reused). */
  uninstall(ops: FolioOwnerOps): void {
    const id = this.ids.get(ops);
    if (id === undefined) return;
    this.byId[id] = undefined;
    this.ids.delete(ops);
  }

  /** The ops with id `id`, or undefined. */
  get(id: number): FolioOwnerOps | undefined {
    return this.byId[id];
  }

  /** The id of installed `ops`, or 0. */
  idOf(ops: FolioOwnerOps): number {
    return this.ids.get(ops) ?? 0;
  }

  /** Every installed ops table. */
  all(): FolioOwnerOps[] {
    return this.byId.filter((o): o is FolioOwnerOps => o !== undefined);
  }
}

function requireSeries1(m: Machine, fn: string, folio: number): void {
  if (m.strategy !== 'owner-ops') {
    throw new MmError(EOPNOTSUPP, `${fn}: folio_owner_ops exist only under the owner-ops strategy (machine runs "${m.strategy}")`, {
      pfn: folio,
      rule: 'series 1 field',
    });
  }
}

/**
 * `folio_set_owner_ops(folio, ops)` (series 1): store `ops | FOLIO_OWNER_OPS` in the word `lru`
 * shares. Rejected (`EINVAL`) if `ops` is not installed, the folio is a tail, or the word is in use
 * as a list link or tail marker; `EOPNOTSUPP` unless the machine runs the `owner-ops` strategy.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { FolioOwnerOps, GFP_KERNEL, createMachine, folio_alloc, folio_put, folio_set_owner_ops, type Folio, type MmPlugin } from '@mm/core';
 *
 * // An owner that keeps its folios when their refcount reaches 0 (as hugetlb keeps its pool).
 * const kept: Folio[] = [];
 * const pool: FolioOwnerOps = { name: 'my-pool', free: (folio) => void kept.push(folio) };
 * const plugin: MmPlugin = {
 *   meta: { name: 'my-pool', version: '1.0.0' },
 *   register: (container) => void container.register(FolioOwnerOps, { useValue: pool }),
 * };
 * const m = createMachine({ memory: '64M', strategy: 'owner-ops', plugins: [plugin] });
 * const folio = folio_alloc(m, GFP_KERNEL, 0);
 * if (folio === -1) throw new Error('out of memory');
 * folio_set_owner_ops(m, folio, pool); // the lru word now holds the ops pointer, tagged with bit 1
 * folio_put(m, folio); // refcount 0: __folio_put calls pool.free, not the page allocator
 * console.log(kept.length === 1 && kept[0] === folio); // true
 * ```
 */
export function folio_set_owner_ops(m: Machine, folio: Folio, ops: FolioOwnerOps): void {
  assertFolio(m, folio, 'folio_set_owner_ops');
  requireSeries1(m, 'folio_set_owner_ops', folio);
  const id = m.ownerOps.idOf(ops);
  if (id === 0) throw new MmError(EINVAL, `owner ops "${ops.name}" are not installed on this machine`, { pfn: folio, rule: 'install owner ops first' });
  const w = m.memmap.lru[folio]!;
  if (w !== 0 && (w & PTR_TAG_MASK) === 0) {
    throw new MmError(EINVAL, 'folio_set_owner_ops: folio is linked on a list through lru', {
      pfn: folio,
      rule: '§2.5 owner ops ⇒ not on any list through lru',
    });
  }
  m.memmap.lru[folio] = id_ptr(id) | FOLIO_OWNER_OPS;
}

/** `folio_clear_owner_ops(folio)` (series 1): store NULL in the word. */
export function folio_clear_owner_ops(m: Machine, folio: Folio): void {
  assertFolio(m, folio, 'folio_clear_owner_ops');
  requireSeries1(m, 'folio_clear_owner_ops', folio);
  if ((m.memmap.lru[folio]! & PTR_TAG_MASK) === FOLIO_OWNER_OPS) m.memmap.lru[folio] = 0;
}

/**
 * `folio_get_owner_ops(folio)` (series 1): the ops if bit 1 of the word is set, else null. (RFC v1
 * has no `folio_has_owner_ops`; test `folio_get_owner_ops(...) !== null`.)
 */
export function folio_get_owner_ops(m: Machine, folio: Folio): FolioOwnerOps | null {
  const w = m.memmap.lru[folio]!;
  if ((w & PTR_TAG_MASK) !== FOLIO_OWNER_OPS) return null;
  return m.ownerOps.get(ptr_id(w)) ?? null;
}
