import type { DependencyContainer } from 'tsyringe';
import { MmError } from '../debug/mm-error.js';
import { EINVAL } from '../errno.js';
import type { FreeDispatchStrategy } from '../folio/folio-put.js';
import { MAX_NUMNODES } from '../page/page-zone.js';
import { PGTY_FIRST_FREE } from '../page/page-type.js';
import { PAGE_SIZE, pageblock_nr_pages } from '../types.js';
import { memparse } from './memparse.js';
import type { MmPlugin } from './plugin.js';

/** A PFN range `[start, start + nrPages)`. */
export interface PfnRange {
  /** First PFN. */
  readonly start: number;
  /** Number of pages. */
  readonly nrPages: number;
}

/** What {@link createMachine} boots. Every field has a default. */
export interface MachineConfig {
  /** RAM size in bytes or as `memparse` text (`"16G"`). Default `"1G"`. A multiple of 2 MiB. */
  readonly memory?: number | string;
  /** NUMA nodes; RAM is split evenly between them. Default 1. */
  readonly nodes?: number;
  /** CPUs (per-CPU page lists and LRU batches), spread evenly over nodes. Default 2. */
  readonly cpus?: number;
  /** `movablecore=`: bytes of ZONE_MOVABLE, taken from the top of each node. Default 0. */
  readonly movablecore?: number | string;
  /** Whether the first 16 MiB form ZONE_DMA (as on x86-64). Default true. */
  readonly dmaZone?: boolean;
  /** Reserved PFN ranges (memblock reservations: PG_reserved, refcount 1, never freed). Default: the first 1 MiB, as x86 reserves it. */
  readonly reserved?: readonly PfnRange[];
  /** `__folio_put` dispatch: `'owner-ops'` (series 1, default) or `'mainline'`. */
  readonly strategy?: FreeDispatchStrategy;
  /** CONFIG_DEBUG_VM: check the invariants after every operation. Default false. */
  readonly debugVm?: boolean;
  /** Seed for every random choice made for this machine. Default 1. */
  readonly seed?: number;
  /** `vm.min_free_kbytes`; default computed as the kernel computes it. */
  readonly minFreeKbytes?: number;
  /** Series 2's rule that the allocator clears page types on free (v6.17). Default true; false restores the old behaviour. */
  readonly stickyPageTypes?: boolean;
  /**
   * Plugin-defined page types (PGTY values from `PGTY_FIRST_FREE` to 0xfe) that may have movable_ops,
   * for experiments. Upstream admits only PGTY_offline and PGTY_zsmalloc: this is a divergence.
   */
  readonly experimentalMovableOpsTypes?: readonly number[];
  /** Plugins to register, in order. */
  readonly plugins?: readonly MmPlugin[];
  /** Parent DI container for the machine's child container (default: tsyringe's root container, never written to). */
  readonly parentContainer?: DependencyContainer;
  /** Options for plugins, by plugin name (e.g. `{ hugetlb: { hugepages: 512 } }`). */
  readonly pluginOptions?: Readonly<Record<string, unknown>>;
}

/** A {@link MachineConfig} with every default filled in and sizes in pages. */
export interface ResolvedMachineConfig {
  /** RAM in pages. */
  readonly nrPages: number;
  /** NUMA nodes. */
  readonly nodes: number;
  /** CPUs. */
  readonly cpus: number;
  /** ZONE_MOVABLE pages in all. */
  readonly movablePages: number;
  /** ZONE_DMA present. */
  readonly dmaZone: boolean;
  /** Reserved ranges. */
  readonly reserved: readonly PfnRange[];
  /** Dispatch strategy. */
  readonly strategy: FreeDispatchStrategy;
  /** CONFIG_DEBUG_VM. */
  readonly debugVm: boolean;
  /** Seed. */
  readonly seed: number;
  /** min_free_kbytes, or null to compute. */
  readonly minFreeKbytes: number | null;
  /** Sticky page types. */
  readonly stickyPageTypes: boolean;
  /** Admitted experimental movable_ops page types. */
  readonly experimentalMovableOpsTypes: readonly number[];
  /** Plugin options. */
  readonly pluginOptions: Readonly<Record<string, unknown>>;
}

function bad(what: string, rule: string): never {
  throw new MmError(EINVAL, `createMachine: ${what}`, { rule });
}

/** Fill in defaults and validate a {@link MachineConfig}; `MmError(EINVAL)` names the bad field. */
export function resolveMachineConfig(c: MachineConfig = {}): ResolvedMachineConfig {
  const bytes = memparse(c.memory ?? '1G');
  const twoMiB = pageblock_nr_pages * PAGE_SIZE;
  if (bytes < 4 * twoMiB || bytes % twoMiB !== 0) bad(`memory ${bytes} is not a multiple of 2 MiB of at least 8 MiB`, 'memory = n × 2 MiB, n ≥ 4');
  const nrPages = bytes / PAGE_SIZE;
  if (nrPages > 2 ** 29) bad(`memory ${bytes} above 2 TiB`, 'at most 2 TiB of RAM');
  const nodes = c.nodes ?? 1;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NUMNODES || (nrPages / nodes) % pageblock_nr_pages !== 0) {
    bad(`nodes ${nodes}`, `1..${MAX_NUMNODES} nodes, each a whole number of 2 MiB pageblocks`);
  }
  const cpus = c.cpus ?? 2;
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 256) bad(`cpus ${cpus}`, '1..256 CPUs');
  const movable = memparse(c.movablecore ?? 0) / PAGE_SIZE;
  if (!Number.isInteger(movable) || movable % (pageblock_nr_pages * nodes) !== 0 || movable > nrPages / 2) {
    bad(`movablecore ${c.movablecore}`, 'movablecore: whole pageblocks per node, at most half of RAM');
  }
  const reserved = c.reserved ?? [{ start: 0, nrPages: 256 }];
  for (const r of reserved) {
    if (!Number.isInteger(r.start) || !Number.isInteger(r.nrPages) || r.start < 0 || r.nrPages < 1 || r.start + r.nrPages > nrPages) {
      bad(`reserved range ${JSON.stringify(r)}`, 'reserved ranges lie inside RAM');
    }
  }
  const strategy = c.strategy ?? 'owner-ops';
  if (strategy !== 'owner-ops' && strategy !== 'mainline') bad(`strategy ${String(strategy)}`, "strategy is 'owner-ops' or 'mainline'");
  const minFreeKbytes = c.minFreeKbytes ?? null;
  if (minFreeKbytes !== null && !(Number.isInteger(minFreeKbytes) && minFreeKbytes >= 128)) bad(`minFreeKbytes ${minFreeKbytes}`, 'min_free_kbytes ≥ 128');
  const experimental = c.experimentalMovableOpsTypes ?? [];
  for (const t of experimental) {
    if (!Number.isInteger(t) || t < PGTY_FIRST_FREE || t > 0xfe) bad(`experimental movable_ops type ${t}`, 'plugin page types are 0xf9..0xfe');
  }
  return {
    nrPages,
    nodes,
    cpus,
    movablePages: movable,
    dmaZone: c.dmaZone ?? true,
    reserved,
    strategy,
    debugVm: c.debugVm ?? false,
    seed: c.seed ?? 1,
    minFreeKbytes,
    stickyPageTypes: c.stickyPageTypes ?? true,
    experimentalMovableOpsTypes: experimental,
    pluginOptions: c.pluginOptions ?? {},
  };
}
