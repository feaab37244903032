import { hugetlb_folio_subpool } from './folio/hugetlb-fields.js';
import { Checkpointable, FolioOwnerOps, GFP, InvariantCheck, MAX_NUMNODES, Machine, PAGE_SHIFT, ProcfsContributor, ReplayableOperations, type Folio, type MmPlugin } from '@mm/core';
import type { DependencyContainer } from 'tsyringe';
import { HUGETLB_PAGE_ORDER, HUGETLB_PUD_ORDER, hstate_is_gigantic, type Hstate } from './hstate.js';
import { dissolve_free_hugetlb_folio, isolate_or_dissolve_huge_folio } from './pool/dissolve.js';
import { alloc_gigantic_folio, alloc_pool_huge_folio, htlb_alloc_mask, type NodeAllocNoretry } from './pool/fresh.js';
import { alloc_hugetlb_migration_target, folio_isolate_hugetlb, folio_putback_hugetlb, move_hugetlb_state } from './pool/migrate.js';
import { hstate_next_node_to_alloc, node_states_memory, nodes_weight } from './pool/nodes.js';
import { init_new_hugetlb_folio, prep_and_add_allocated_folios } from './pool/queue.js';
import { HugetlbParams, HugetlbState, type HugetlbBootParams } from './state.js';
import { HugetlbCheckpoint } from './checkpoint.js';
import { HugetlbReplayOperations } from './replay-operations.js';
import { memparseKernel } from './sysfs/parse.js';

/**
 * The `@mm/hugetlb` plugin: boot parameters, DI registration, boot-time pools and the migration hooks.
 *
 * @module
 */

/** Options of {@link hugetlbPlugin} (also accepted as `pluginOptions.hugetlb`; the plugin's own options win). */
export interface HugetlbOptions {
  /**
   * Kernel command-line parameters, parsed in order with the kernel's rules: `hugepagesz=`, `hugepages=`
   * (`N` or `node:N,node:N`), `default_hugepagesz=`, `hugetlb_free_vmemmap=on|off`. Other words are
   * ignored. Example: `"hugepagesz=1G hugepages=1 hugepagesz=2M hugepages=0:8,1:8"`.
   */
  readonly cmdline?: string;
  /** Boot pools by size, appended to the command line as `hugepagesz=<size> hugepages=<count>`: `{ '2M': 512 }`. */
  readonly pools?: Readonly<Record<string, number | string>>;
  /** `default_hugepagesz=`. */
  readonly default_hugepagesz?: number | string;
  /** `hugetlb_free_vmemmap=` (HVO). Default false. */
  readonly hugetlb_free_vmemmap?: boolean;
}

/** Warnings the command-line parser printed (`pr_warn`/`pr_err` in the kernel, which ignores bad parameters). */
export interface ParsedHugetlbParams extends HugetlbBootParams {
  /** One line per ignored parameter. */
  readonly warnings: readonly string[];
}

/** `arch_hugetlb_valid_size(size)` on x86-64 with GB pages: 2 MiB or 1 GiB. Returns the order or -1. */
function validOrder(size: number): number {
  if (size === 2 ** (HUGETLB_PAGE_ORDER + PAGE_SHIFT)) return HUGETLB_PAGE_ORDER;
  if (size === 2 ** (HUGETLB_PUD_ORDER + PAGE_SHIFT)) return HUGETLB_PUD_ORDER;
  return -1;
}

/**
 * Parse the boot parameters as `hugepagesz_setup`, `hugepages_setup` and `default_hugepagesz_setup`
 * (`mm/hugetlb.c`) do, then add the hstates `gigantic_pages_init` (x86, 1 GiB) and `hugetlb_init`
 * (2 MiB) add, and resolve the default size.
 */
export function parseHugetlbParams(opts: HugetlbOptions, nrNodes: number): ParsedHugetlbParams {
  const warnings: string[] = [];
  const words = (opts.cmdline ?? '').split(/\s+/).filter((w) => w.length > 0);
  for (const [size, count] of Object.entries(opts.pools ?? {})) words.push(`hugepagesz=${size}`, `hugepages=${count}`);
  if (opts.default_hugepagesz !== undefined) words.push(`default_hugepagesz=${opts.default_hugepagesz}`);
  let hvo = opts.hugetlb_free_vmemmap ?? false;

  const orders: number[] = [];
  const max = new Map<number, number>();
  const perNode = new Map<number, number[]>();
  let parsed: number | null = null; // parsed_hstate
  let parsedValid = true;
  let parsedDefault = false;
  let defaultOrder = -1;
  let defaultMax = 0;
  let defaultPerNode: number[] | null = null;
  let lastTarget: string | null = null;
  const addHstate = (order: number): void => {
    if (!orders.includes(order)) orders.push(order);
    parsed = order;
  };

  for (const word of words) {
    const eq = word.indexOf('=');
    const key = eq < 0 ? word : word.slice(0, eq);
    const val = eq < 0 ? '' : word.slice(eq + 1);
    if (key === 'hugetlb_free_vmemmap') {
      hvo = val === 'on' || val === '1' || val === 'y';
    } else if (key === 'hugepagesz') {
      parsedValid = false;
      const order = validOrder(memparseKernel(val).value);
      if (order < 0) {
        warnings.push(`HugeTLB: unsupported hugepagesz=${val}`);
        continue;
      }
      if (orders.includes(order)) {
        if (!parsedDefault || order !== defaultOrder || (max.get(order) ?? 0) !== 0) {
          warnings.push(`HugeTLB: hugepagesz=${val} specified twice, ignoring`);
          continue;
        }
        parsed = order;
        parsedValid = true;
        continue;
      }
      addHstate(order);
      parsedValid = true;
    } else if (key === 'hugepages') {
      if (!parsedValid) {
        warnings.push(`HugeTLB: hugepages=${val} does not follow a valid hugepagesz, ignoring`);
        parsedValid = true;
        continue;
      }
      const target = orders.length === 0 ? 'default' : String(parsed);
      if (target === lastTarget) {
        warnings.push(`HugeTLB: hugepages= specified twice without interleaving hugepagesz=, ignoring hugepages=${val}`);
        continue;
      }
      const nodes = new Array<number>(nrNodes).fill(0);
      let total = 0;
      let ok = true;
      let nodeFormat = false;
      if (/^\d+$/.test(val)) total = Number(val);
      else {
        for (const part of val.split(',')) {
          const mt = /^(\d+):(\d+)$/.exec(part);
          if (!mt || Number(mt[1]) >= Math.min(MAX_NUMNODES, nrNodes)) {
            ok = false;
            break;
          }
          nodes[Number(mt[1])] = Number(mt[2]);
          total += Number(mt[2]);
          nodeFormat = true;
        }
      }
      if (!ok) {
        warnings.push(`HugeTLB: Invalid hugepages parameter ${val}`);
        if (target === 'default') {
          defaultMax = 0;
          defaultPerNode = null;
        } else {
          max.set(parsed!, 0);
          perNode.delete(parsed!);
        }
        continue;
      }
      if (target === 'default') {
        defaultMax = total;
        defaultPerNode = nodeFormat ? nodes : null;
      } else {
        max.set(parsed!, total);
        if (nodeFormat) perNode.set(parsed!, nodes);
        else perNode.delete(parsed!);
      }
      lastTarget = target;
    } else if (key === 'default_hugepagesz') {
      parsedValid = false;
      if (parsedDefault) {
        warnings.push(`HugeTLB: default_hugepagesz previously specified, ignoring ${val}`);
        continue;
      }
      const order = validOrder(memparseKernel(val).value);
      if (order < 0) {
        warnings.push(`HugeTLB: unsupported default_hugepagesz=${val}`);
        continue;
      }
      addHstate(order);
      parsedValid = true;
      parsedDefault = true;
      defaultOrder = order;
      if (defaultMax) {
        max.set(order, defaultMax);
        if (defaultPerNode) perNode.set(order, defaultPerNode);
        defaultMax = 0;
        defaultPerNode = null;
      }
    }
  }
  // gigantic_pages_init() (arch_initcall, X86_FEATURE_GBPAGES), then hugetlb_init() (subsys_initcall).
  if (!orders.includes(HUGETLB_PUD_ORDER)) orders.push(HUGETLB_PUD_ORDER);
  if (!orders.includes(HUGETLB_PAGE_ORDER)) orders.push(HUGETLB_PAGE_ORDER);
  if (!parsedDefault) {
    defaultOrder = HUGETLB_PAGE_ORDER;
    if (defaultMax) {
      if (max.get(defaultOrder)) warnings.push(`HugeTLB: Ignoring hugepages=${max.get(defaultOrder)} associated with 2.00 MiB page size`);
      max.set(defaultOrder, defaultMax);
      if (defaultPerNode) perNode.set(defaultOrder, defaultPerNode);
      else perNode.delete(defaultOrder);
    }
  }
  const pools = new Map<number, { total: number; perNode: number[] | null }>();
  for (const [order, total] of max) if (total > 0) pools.set(order, { total, perNode: perNode.get(order) ?? null });
  return { orders, defaultOrder, pools, hvo, warnings };
}

/**
 * `hugetlb_hstate_alloc_pages(h)` with `hugetlb_init_hstates`' demote setup: allocate the boot pool of
 * every hstate — per node if `hugepages=` named nodes, else round robin — and lower `max_huge_pages`
 * (and the node request) to what could be had. Gigantic boot pages come from `alloc_contig_pages` on
 * the running buddy allocator (the kernel takes them from memblock before the buddy allocator exists).
 */
function hugetlbBootPools(m: Machine, pool: HugetlbState, params: HugetlbBootParams): void {
  for (const h of pool.hstates) {
    for (const h2 of pool.hstates) if (h2.order < h.order && h2.order > h.demote_order && h2.order >= HUGETLB_PAGE_ORDER) h.demote_order = h2.order;
    const req = params.pools.get(h.order);
    if (req === undefined) continue;
    h.max_huge_pages = req.total;
    const allocOne = (nid: number | null, noretry: NodeAllocNoretry): Folio | -1 => {
      if (nid === null && !hstate_is_gigantic(h)) return alloc_pool_huge_folio(m, h, node_states_memory(m), noretry);
      const gfp = htlb_alloc_mask(h) | GFP.__GFP_THISNODE;
      if (nid !== null) return bootFolio(m, h, gfp, nid, noretry);
      for (let nr = nodes_weight(node_states_memory(m)); nr > 0; nr--) {
        const f = bootFolio(m, h, gfp, hstate_next_node_to_alloc(h, node_states_memory(m)), noretry);
        if (f >= 0) return f;
      }
      return -1;
    };
    const noretry: NodeAllocNoretry = { mask: 0 };
    const folios: Folio[] = [];
    if (req.perNode !== null) {
      req.perNode.forEach((want, nid) => {
        h.max_huge_pages_node[nid] = want;
        let got = 0;
        for (; got < want; got++) {
          const f = allocOne(nid, noretry);
          if (f < 0) break;
          folios.push(f as Folio);
        }
        if (got < want) {
          h.max_huge_pages -= want - got;
          h.max_huge_pages_node[nid] = got;
        }
      });
    } else {
      for (let i = 0; i < req.total; i++) {
        const f = allocOne(null, noretry);
        if (f < 0) {
          h.max_huge_pages = i;
          break;
        }
        folios.push(f as Folio);
      }
    }
    prep_and_add_allocated_folios(m, h, folios);
  }
}

function bootFolio(m: Machine, h: Hstate, gfp: number, nid: number, noretry: NodeAllocNoretry): Folio | -1 {
  if (!hstate_is_gigantic(h)) {
    const mask = 1 << nid;
    return alloc_pool_huge_folio(m, h, mask, noretry);
  }
  const folio = alloc_gigantic_folio(m, h, gfp, nid);
  if (folio >= 0) init_new_hugetlb_folio(m, h, folio as Folio);
  return folio;
}

/** Fill the migration hooks of `machine/hooks.ts` with hugetlb's functions. */
function installHooks(m: Machine): void {
  m.hooks.folio_isolate_hugetlb = (folio) => folio_isolate_hugetlb(m, folio);
  m.hooks.folio_putback_hugetlb = (folio) => folio_putback_hugetlb(m, folio);
  m.hooks.dissolve_free_hugetlb_folio = (folio) => dissolve_free_hugetlb_folio(m, folio);
  m.hooks.isolate_or_dissolve_huge_folio = (folio) => isolate_or_dissolve_huge_folio(m, folio);
  m.hooks.alloc_hugetlb_migration_target = (src, nid) => alloc_hugetlb_migration_target(m, src, nid);
  m.hooks.move_hugetlb_state = (oldFolio, newFolio, reason) => move_hugetlb_state(m, oldFolio, newFolio, reason);
  m.hooks.hugetlb_folio_subpool = (folio) => hugetlb_folio_subpool(m, folio) !== 0;
}

/**
 * The hugetlb plugin. Registers the per-machine {@link HugetlbState} and, from it, hugetlb's
 * `FolioOwnerOps` (series 1 `hugetlb_owner_ops`, with the mainline `__folio_put` branch), the §13 §4
 * `InvariantCheck` and the `ProcfsContributor`; at boot it allocates the pools the command line asks
 * for and installs the migration hooks.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { createMachine } from '@mm/core';
 * import { hugetlbOf, hugetlbPlugin, hugetlb_report_meminfo } from '@mm/hugetlb';
 *
 * // As if booted with hugepages=16 on the kernel command line.
 * const m = createMachine({ memory: '256M', plugins: [hugetlbPlugin({ cmdline: 'hugepages=16' })] });
 * console.log(hugetlbOf(m).default_hstate.nr_huge_pages); // 16
 * console.log(hugetlb_report_meminfo(hugetlbOf(m), null).HugePages_Free); // 16
 * ```
 */
export function hugetlbPlugin(options: HugetlbOptions = {}): MmPlugin {
  return {
    meta: { name: 'hugetlb', version: '0.1.0' },
    register(c: DependencyContainer): void {
      const m = c.resolve<Machine>(Machine);
      const fromConfig = (m.config.pluginOptions['hugetlb'] ?? {}) as HugetlbOptions;
      const params = parseHugetlbParams({ ...fromConfig, ...options }, m.nodes.length);
      c.registerInstance(HugetlbParams, params);
      c.registerSingleton(HugetlbState);
      c.register(FolioOwnerOps, { useFactory: (x) => x.resolve(HugetlbState).ownerOps });
      c.register(InvariantCheck, { useFactory: (x) => x.resolve(HugetlbState).invariants });
      c.register(ProcfsContributor, { useFactory: (x) => x.resolve(HugetlbState).procfs });
      c.register(Checkpointable, { useFactory: (x) => new HugetlbCheckpoint(x.resolve(HugetlbState)) });
      c.registerSingleton(HugetlbReplayOperations);
      c.register(ReplayableOperations, { useToken: HugetlbReplayOperations });
    },
    init(m: Machine): void {
      const pool = m.container.resolve(HugetlbState);
      const params = m.container.resolve<ParsedHugetlbParams>(HugetlbParams);
      pool.bootWarnings.push(...params.warnings);
      m.withChecksDeferred('hugetlb_init', () => hugetlbBootPools(m, pool, params));
      installHooks(m);
    },
  };
}
