import { balloon_devinfo_init, balloon_page_alloc, balloon_page_dequeue, balloon_page_enqueue, type BalloonDevInfo } from '@mm/balloon';
import {
  EINVAL,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  MmError,
  VmBugError,
  anon_vma_alloc,
  compact_memory,
  createMachine,
  faultInAnonFolio,
  folio_alloc,
  folio_nr_pages,
  folio_put,
  folio_try_get,
  lru_add_drain_all,
  zapFolioPtes,
  type Folio,
  type Machine,
  type Pfn,
} from '@mm/core';
import { zs_compact, zs_create_pool, zs_free, zs_malloc, type ZsPool } from '@mm/zsmalloc';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { resolveExplorePlugin } from '../engine/plugins.js';

/**
 * The soak: seeded random operations across the installed plugins with every invariant checked after
 * each operation, bad inputs mixed in. Errors the kernel returns by design (`-ENOMEM` allocations,
 * `MmError` for bad input, which leave the machine unchanged) are counted; a `VmBugError` or any
 * other exception is a violation and stops the soak.
 *
 * @module
 */

/** The plugins the soak can drive. */
export const SOAK_PLUGINS = ['balloon', 'zsmalloc'] as const;

/** Options of {@link soak}. */
export interface SoakOptions {
  /** Operations to run. */
  readonly ops: number;
  /** The seed (the generator is `xoroshiro128plus(seed)`). */
  readonly seed: number;
  /** Plugins to drive (default all of {@link SOAK_PLUGINS}). */
  readonly plugins?: readonly string[];
  /** Machine memory (default '64M'). */
  readonly memory?: string;
  /** Check every invariant after each operation (default true); the full check is ~1 ms on 64M. */
  readonly checkEvery?: number;
  /** Called every `progressEvery` operations with the count so far. */
  readonly onProgress?: (done: number) => void;
  /** How often `onProgress` is called (default 10 000). */
  readonly progressEvery?: number;
}

/** What {@link soak} returns. */
export interface SoakResult {
  /** Operations run. */
  operations: number;
  /** Operations per kind. */
  readonly byOp: Record<string, number>;
  /** Errors returned by design (failed allocations, rejected bad input), per errno or reason. */
  readonly errors: Record<string, number>;
  /** Violations (0 expected): the first one's message, if any. */
  violations: number;
  /** The first violation: operation number, operation and message. */
  firstViolation: {
    /** Index of the operation after which the violation was seen. */
    readonly op: number;
    /** Name of that operation. */
    readonly name: string;
    /** The first line of the error (a `VmBugError` names the invariant). */
    readonly message: string;
  } | null;
  /** Invariant checks run. */
  checks: number;
}

/**
 * Run `options.ops` seeded random operations: anonymous faults and unmaps, speculative references,
 * frees of random (also free or tail) PFNs as bad input, compaction (`compact_memory`), balloon
 * inflate and deflate, zs_malloc, zs_free and zs_compact. Reproducible from the seed.
 * `MmError(EINVAL)` for a plugin the soak does not drive or a bad count.
 */
export function soak(options: SoakOptions): SoakResult {
  const plugins = options.plugins ?? SOAK_PLUGINS;
  for (const p of plugins) {
    if (!(SOAK_PLUGINS as readonly string[]).includes(p)) throw new MmError(EINVAL, `soak: plugin "${p}" is not driven by the soak`, { rule: `one of ${SOAK_PLUGINS.join(', ')}` });
  }
  if (!(Number.isInteger(options.ops) && options.ops >= 0)) throw new MmError(EINVAL, `soak: ops ${options.ops}`, { rule: 'ops is an integer ≥ 0' });
  if (!(Number.isInteger(options.seed) && options.seed >= 0)) throw new MmError(EINVAL, `soak: seed ${options.seed}`, { rule: 'seed is an integer ≥ 0' });
  const checkEvery = options.checkEvery ?? 1;
  const m: Machine = createMachine({ memory: options.memory ?? '64M', cpus: 4, seed: options.seed, plugins: plugins.map((p) => resolveExplorePlugin(p, undefined)) });
  const rng = xoroshiro128plus(options.seed | 0);
  const pick = (n: number): number => uniformInt(rng, 0, n - 1);
  const res: SoakResult = { operations: 0, byOp: {}, errors: {}, violations: 0, firstViolation: null, checks: 0 };
  const av = anon_vma_alloc(m);
  const anon: Folio[] = [];
  const b: BalloonDevInfo | null = plugins.includes('balloon') ? balloon_devinfo_init(m, { name: 'soak', migratepage: () => 0 }) : null;
  let inflated = 0;
  const pool: ZsPool | null = plugins.includes('zsmalloc') ? zs_create_pool(m, 'soak') : null;
  const handles: number[] = [];
  const err = (why: string): void => {
    res.errors[why] = (res.errors[why] ?? 0) + 1;
  };
  type Op = readonly [string, () => void];
  const ops: Op[] = [
    ['fault', () => {
      const f = folio_alloc(m, GFP_HIGHUSER_MOVABLE, pick(3) === 0 ? 2 : 0);
      if (f < 0) return err('ENOMEM');
      m.withChecksDeferred('soak fault', () => faultInAnonFolio(m, f as Folio, av, anon.length));
      anon.push(f as Folio);
    }],
    ['munmap', () => {
      if (anon.length === 0) return;
      const i = pick(anon.length);
      const f = anon[i]!;
      anon[i] = anon[anon.length - 1]!;
      anon.pop();
      lru_add_drain_all(m);
      const n = folio_nr_pages(m, f);
      m.withChecksDeferred('soak munmap', () => zapFolioPtes(m, f, f, n));
    }],
    ['speculative', () => {
      if (anon.length === 0) return;
      const f = anon[pick(anon.length)]!;
      if (folio_try_get(m, f)) folio_put(m, f);
    }],
    ['bad_put', () => {
      // Bad input: a put on a random PFN (free, tail or reserved pages are rejected with MmError).
      const p = pick(m.memmap.refcount.length) as Folio;
      if (m.memmap.refcount[p]! > 0) return;
      folio_put(m, p);
    }],
    ['compact', () => {
      if (pick(50) === 0) compact_memory(m, 1);
    }],
    ['drain', () => lru_add_drain_all(m)],
  ];
  if (b !== null) {
    ops.push(['inflate', () => {
      const p = balloon_page_alloc(m);
      if (p < 0) return err('ENOMEM');
      balloon_page_enqueue(m, b, p as Pfn);
      inflated++;
    }]);
    ops.push(['deflate', () => {
      if (inflated === 0) return;
      const p = balloon_page_dequeue(m, b);
      if (p < 0) return err('balloon: every page isolated');
      inflated--;
      folio_put(m, p as Folio);
    }]);
  }
  if (pool !== null) {
    ops.push(['zs_malloc', () => {
      const h = zs_malloc(m, pool, 32 + pick(3000), GFP_KERNEL);
      if (typeof h !== 'number' || h <= 0) return err('zs_malloc failed');
      handles.push(h);
    }]);
    ops.push(['zs_free', () => {
      if (handles.length === 0) return;
      const i = pick(handles.length);
      zs_free(m, pool, handles[i]!);
      handles[i] = handles[handles.length - 1]!;
      handles.pop();
    }]);
    ops.push(['zs_compact', () => {
      if (pick(20) === 0) zs_compact(m, pool);
    }]);
  }
  const every = options.progressEvery ?? 10_000;
  for (let i = 0; i < options.ops; i++) {
    const [name, run] = ops[pick(ops.length)]!;
    res.operations++;
    res.byOp[name] = (res.byOp[name] ?? 0) + 1;
    try {
      run();
      if (checkEvery > 0 && i % checkEvery === 0) {
        res.checks++;
        m.checkInvariants(`soak op ${i} (${name})`);
      }
    } catch (e) {
      if (e instanceof MmError) {
        err(e.code);
        continue;
      }
      res.violations++;
      res.firstViolation = { op: i, name, message: (e instanceof Error ? e.message : String(e)).split('\n')[0]! };
      if (!(e instanceof VmBugError)) res.firstViolation = { ...res.firstViolation, message: `${e instanceof Error ? e.name : 'throw'}: ${res.firstViolation.message}` };
      break;
    }
    if (options.onProgress !== undefined && (i + 1) % every === 0) options.onProgress(i + 1);
  }
  return res;
}
