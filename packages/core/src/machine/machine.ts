import type { DependencyContainer } from 'tsyringe';
import type { Zone } from '../alloc/zone.js';
import { dump_page } from '../debug/dump-page.js';
import { check_invariants } from '../debug/invariants.js';
import { VmBugError } from '../debug/mm-error.js';
import type { FreeDispatchStrategy } from '../folio/folio-put.js';
import { MappingTable } from '../mapping/mapping-table.js';
import { OwnerOpsTable, type FolioOwnerOps } from '../folio/owner-ops.js';
import type { MovableOperations } from '../migrate/movable-ops.js';
import { Memmap } from '../page/memmap.js';
import { TraceEvents } from '../trace/events.js';
import { VM_EVENT_ITEMS } from '../trace/vmstat.js';
import type { ResolvedMachineConfig } from './config.js';
import type { MachineHooks } from './hooks.js';
import type { PgData } from './pglist-data.js';
import type { InvariantCheck } from './plugin.js';

/** One CPU's `lru_add` folio batch (`struct folio_batch` in `cpu_fbatches`). */
export interface LruAddBatch {
  /** The folios waiting, `count` of them. */
  readonly folios: Int32Array;
  /** How many are waiting. */
  count: number;
}

/**
 * One simulated host: its memmap, nodes and zones, tracepoints and counters, owner tables and DI
 * container. Built by {@link createMachine}; every kernel function takes it as its first argument,
 * standing for the kernel's global state. Two machines share nothing.
 */
export class Machine {
  /** The configuration it was booted with, defaults filled in. */
  readonly config: ResolvedMachineConfig;
  /** The machine's own tsyringe child container (set by `createMachine`). */
  container!: DependencyContainer;
  /** `mem_map`: the struct pages. Replaced (grown) when ZONE_DEVICE ranges are added. */
  memmap: Memmap;
  /** `NODE_DATA(nid)` for every node. */
  readonly nodes: PgData[] = [];
  /** Every zone with present pages that the buddy allocator manages, by node then zone index. */
  readonly zones: Zone[] = [];
  /** Zones by the top byte of a page's flags (`node << 3 | zone index`), including ZONE_DEVICE. */
  readonly zoneById: (Zone | undefined)[] = new Array(256).fill(undefined);
  /** Tracepoints. */
  readonly trace = new TraceEvents();
  /** `vm_event_states`: event counters indexed by `VM_EVENT.*`. */
  readonly vmEvents = new Float64Array(VM_EVENT_ITEMS.length);
  /** Installed `folio_owner_ops` tables (series 1). */
  readonly ownerOps = new OwnerOpsTable();
  /** Owners with an explicit mainline `__folio_put` branch, in branch order. */
  mainlineBranches: FolioOwnerOps[] = [];
  /** `movable_ops` tables indexed by page type (`set_movable_ops`). */
  readonly movableOps: (MovableOperations | null)[] = new Array(256).fill(null);
  /** Plugin page types admitted to movable_ops (a divergence from upstream). */
  readonly experimentalMovableOpsTypes: readonly number[];
  /** The `__folio_put` dispatch strategy. */
  readonly strategy: FreeDispatchStrategy;
  /** CONFIG_DEBUG_VM: check invariants after every operation. */
  readonly debugVm: boolean;
  /** Series 2's sticky page types: the free path clears any page type. */
  readonly stickyPageTypes: boolean;
  /** The CPU the current code runs on (`smp_processor_id()`). */
  cpu = 0;
  /** `vm.min_free_kbytes`. */
  minFreeKbytes = 0;
  /** Pages reported by `bad_page()` and leaked. */
  nrBadPages = 0;
  /** `max_pfn`: one past the last PFN of RAM. */
  readonly max_pfn: number;
  /** Per-CPU `lru_add` batches. */
  readonly lruAddBatch: LruAddBatch[];
  /** Hooks subsystems and plugins fill in (direct compaction, hugetlb isolation, …). */
  readonly hooks: MachineHooks = {};
  /** `cpu_to_node()`: the node of each CPU. */
  readonly cpuToNode: Int32Array;
  /** `node_zonelists` cache, filled by the allocator on first use per (node, highest zone, THISNODE). */
  readonly zonelists: Zone[][] = [];
  /** `address_space` / `anon_vma` objects named by `mapping` words, the swap cache, migration entries (mapping/). */
  readonly mappings = new MappingTable();
  /** The names (`meta.name`) of the plugins the machine was created with, in order. */
  pluginNames: readonly string[] = [];
  /** Invariant checks added by plugins. */
  readonly invariantChecks: InvariantCheck[] = [];
  private deferChecks = 0;

  /** An empty machine with a memmap of `config.nrPages`; `createMachine` boots it. */
  constructor(config: ResolvedMachineConfig) {
    this.config = config;
    this.memmap = new Memmap(config.nrPages);
    this.max_pfn = config.nrPages;
    this.strategy = config.strategy;
    this.debugVm = config.debugVm;
    this.stickyPageTypes = config.stickyPageTypes;
    this.experimentalMovableOpsTypes = config.experimentalMovableOpsTypes;
    this.lruAddBatch = Array.from({ length: config.cpus }, () => ({ folios: new Int32Array(31), count: 0 }));
    const perNode = Math.max(1, Math.floor(config.cpus / config.nodes));
    this.cpuToNode = Int32Array.from({ length: config.cpus }, (_, cpu) => Math.min(config.nodes - 1, Math.floor(cpu / perNode)));
  }

  /** `numa_node_id()`: the node of the current CPU (CPUs are spread evenly over nodes). */
  numa_node_id(): number {
    return this.cpuToNode[this.cpu]!;
  }

  /**
   * Run `fn` with the `debugVm` checks held back, then check once: for plugins whose operations take
   * several core calls and are only consistent at the end.
   */
  withChecksDeferred<T>(where: string, fn: () => T): T {
    this.deferChecks++;
    try {
      return fn();
    } finally {
      this.deferChecks--;
      if (this.debugVm) this.checkInvariants(where);
    }
  }

  /** Check every invariant now (the core's §1–3 and the plugins'); throws {@link VmBugError}. */
  checkInvariants(where: string): void {
    if (this.deferChecks > 0) return;
    try {
      check_invariants(this);
      for (const c of this.invariantChecks) c.check(this);
    } catch (e) {
      if (e instanceof VmBugError) throw new VmBugError(e.invariant, `${e.message.replace(/^VM_BUG: [^:]*: /, '').split('\n')[0]} (after ${where})`, e.dump, e.pfn);
      throw e;
    }
  }

  /** Throw a {@link VmBugError} for `invariant`, with a `dump_page` of `pfn` if given. */
  vmBug(invariant: string, message: string, pfn?: number): never {
    throw new VmBugError(invariant, message, pfn === undefined ? '' : dump_page(this, pfn), pfn ?? null);
  }
}
