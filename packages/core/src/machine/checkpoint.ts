import type { PerCpuPages, Zone } from '../alloc/zone.js';
import type { PageListHeads } from '../alloc/page-list.js';
import { MmError } from '../debug/mm-error.js';
import { EINVAL, EOPNOTSUPP } from '../errno.js';
import type { FolioOwnerOps } from '../folio/owner-ops.js';
import type { AddressSpace, AddressSpaceOperations } from '../mapping/address-space.js';
import type { AnonVma } from '../mapping/anon-vma.js';
import type { MovableOperations } from '../migrate/movable-ops.js';
import type { Memmap } from '../page/memmap.js';
import type { Folio } from '../types.js';
import type { MachineHooks } from './hooks.js';
import type { Machine } from './machine.js';
import type { PgData } from './pglist-data.js';
import type { InvariantCheck } from './plugin.js';

/**
 * Machine checkpoints: save a booted machine's whole state and later put it back exactly, so that a
 * caller running many short experiments on the same configuration (the explorer runs one execution
 * per interleaving) boots once and restores instead of rebooting. Not a kernel concept (the nearest
 * is CRIU or a VM snapshot).
 *
 * The core saves its own state: every memmap word, every zone's free lists, `nr_free`, watermarks,
 * per-CPU lists, counters and compaction state, every node's LRU lists and counters, the vm events,
 * the `lru_add` batches, the scalars (`cpu`, `nrBadPages`, `minFreeKbytes`), the hooks, the zonelist
 * cache, the owner-ops and movable_ops tables, the invariant checks, and the mapping table (address
 * spaces and their page-cache slots, anon_vmas, migration entries). Each plugin saves its own state
 * through a {@link Checkpointable} provider; a machine with a plugin that has none cannot be
 * checkpointed ({@link uncheckpointablePlugins}). Trace listeners are not part of a checkpoint: they
 * belong to whoever attached them. A restore puts back the same JS objects (zones, nodes, address
 * spaces, plugin state objects) with their saved contents; objects created after the save are
 * dropped from the machine's tables.
 *
 * @module
 */

/**
 * A plugin's side of a machine checkpoint (DI token and interface share the name): `save` returns an
 * exact copy of the plugin's per-machine state (throwing `MmError(EOPNOTSUPP)` if it holds something
 * it cannot copy exactly), `restore` puts a saved copy back in place (the same objects, their saved
 * contents) and drops what was created after the save. A save is restored any number of times.
 */
export interface Checkpointable {
  /** The `meta.name` of the plugin whose state this covers. */
  readonly plugin: string;
  /** An exact copy of the plugin's state. */
  save(): unknown;
  /** Put the state `saved` (a result of this provider's `save`) back. */
  restore(saved: unknown): void;
}

/** DI token for {@link Checkpointable} providers. */
export const Checkpointable = Symbol('@mm/core:Checkpointable');

/** A copy of a {@link PageListHeads}' heads, tails and counts (see {@link saveListHeads}). */
export interface PageListsCopy {
  /** `heads`. */
  readonly heads: Int32Array;
  /** `tails`. */
  readonly tails: Int32Array;
  /** `counts`. */
  readonly counts: Int32Array;
}

/** Copy the heads, tails and counts of a set of page lists. */
export function saveListHeads(l: PageListHeads): PageListsCopy {
  return { heads: l.heads.slice(), tails: l.tails.slice(), counts: l.counts.slice() };
}

/** Put back lists saved by {@link saveListHeads}. */
export function restoreListHeads(l: PageListHeads, s: PageListsCopy): void {
  l.heads.set(s.heads);
  l.tails.set(s.tails);
  l.counts.set(s.counts);
}

const MEMMAP_ARRAYS = ['flags', 'lru', 'lruPrev', 'mapping', 'index', 'private', 'mapcount', 'refcount', 'memcgData', 'pageblock'] as const;
type MemmapArrayName = (typeof MEMMAP_ARRAYS)[number];

interface ZoneCopy {
  readonly zone: Zone;
  readonly scalars: Float64Array;
  readonly free: PageListsCopy;
  readonly nr_free: Int32Array;
  readonly watermark: Float64Array;
  readonly lowmem_reserve: Float64Array;
  readonly vmstat: Float64Array;
  readonly compact: Zone['compact'];
  readonly pcp: { readonly scalars: Int32Array; readonly lists: PageListsCopy }[];
}

interface NodeCopy {
  readonly node: PgData;
  readonly start: number;
  readonly spanned: number;
  readonly zones: (Zone | undefined)[];
  readonly lruvec: PageListsCopy;
  readonly vmstat: Float64Array;
}

/** The private fields of the tables a checkpoint must put back (read through this view only here). */
interface OwnerOpsTablePrivate {
  byId: (FolioOwnerOps | undefined)[];
  ids: Map<FolioOwnerOps, number>;
}
interface MappingTablePrivate {
  nextId: number;
}

/** A saved machine (opaque): the result of {@link saveMachineCheckpoint}. */
export interface MachineCheckpoint {
  /** The machine it was taken of (a checkpoint restores only onto that machine). */
  readonly machine: Machine;
}

/** What a {@link MachineCheckpoint} holds. */
interface CheckpointData extends MachineCheckpoint {
  readonly core: CoreCopy;
  readonly plugins: readonly { readonly provider: Checkpointable; readonly saved: unknown }[];
}

/** The core's part of a checkpoint. */
interface CoreCopy {
  readonly memmap: Memmap;
  readonly arrays: Record<MemmapArrayName, Uint32Array | Int32Array | Uint8Array>;
  readonly zones: Zone[];
  readonly zoneById: (Zone | undefined)[];
  readonly zoneCopies: ZoneCopy[];
  readonly nodeCopies: NodeCopy[];
  readonly vmEvents: Float64Array;
  readonly scalars: readonly [number, number, number];
  readonly lruAdd: { readonly count: number; readonly folios: Int32Array }[];
  readonly hooks: MachineHooks;
  readonly zonelists: Zone[][];
  readonly ownerById: (FolioOwnerOps | undefined)[];
  readonly ownerIds: Map<FolioOwnerOps, number>;
  readonly mainlineBranches: FolioOwnerOps[];
  readonly movableOps: (MovableOperations | null)[];
  readonly invariantChecks: InvariantCheck[];
  readonly mappingNextId: number;
  readonly spaces: (AddressSpace | undefined)[];
  readonly spaceCopies: { readonly as: AddressSpace; readonly flags: number; readonly nrpages: number; readonly i_pages: Map<number, Folio> }[];
  readonly anonVmas: (AnonVma | undefined)[];
  readonly anonRefcounts: Map<AnonVma, number>;
  readonly migrationEntries: Map<number, Int32Array>;
  readonly swapper: AddressSpace;
  readonly defaultAops: AddressSpaceOperations;
}

function providers(m: Machine): Checkpointable[] {
  return m.container.isRegistered(Checkpointable, true) ? m.container.resolveAll<Checkpointable>(Checkpointable) : [];
}

/** The names of `m`'s plugins that register no {@link Checkpointable} (empty: `m` can be checkpointed). */
export function uncheckpointablePlugins(m: Machine): string[] {
  const covered = new Set(providers(m).map((p) => p.plugin));
  return m.pluginNames.filter((n) => !covered.has(n));
}

function copyZone(z: Zone): ZoneCopy {
  return {
    zone: z,
    scalars: Float64Array.of(z.zone_start_pfn, z.spanned_pages, z.present_pages, z.managed_pages, z.nr_reserved_highatomic, z.flags, z.pageset_high_min, z.pageset_high_max, z.pageset_batch),
    free: saveListHeads(z.free_list),
    nr_free: z.nr_free.slice(),
    watermark: z.watermark.slice(),
    lowmem_reserve: z.lowmem_reserve.slice(),
    vmstat: z.vmstat.slice(),
    compact: { ...z.compact },
    pcp: z.per_cpu_pageset.map((p) => ({ scalars: savePcpScalars(p), lists: saveListHeads(p.lists) })),
  };
}

function restoreZone(c: ZoneCopy): void {
  const z = c.zone;
  [z.zone_start_pfn, z.spanned_pages, z.present_pages, z.managed_pages, z.nr_reserved_highatomic, z.flags, z.pageset_high_min, z.pageset_high_max, z.pageset_batch] =
    c.scalars as unknown as number[];
  restoreListHeads(z.free_list, c.free);
  z.nr_free.set(c.nr_free);
  z.watermark.set(c.watermark);
  z.lowmem_reserve.set(c.lowmem_reserve);
  z.vmstat.set(c.vmstat);
  Object.assign(z.compact, c.compact);
  c.pcp.forEach((s, cpu) => {
    const p = z.per_cpu_pageset[cpu]!;
    restorePcpScalars(p, s.scalars);
    restoreListHeads(p.lists, s.lists);
  });
}

function savePcpScalars(p: PerCpuPages): Int32Array {
  return Int32Array.of(p.count, p.high, p.high_min, p.high_max, p.batch, p.alloc_factor, p.free_count, p.flags);
}

function restorePcpScalars(p: PerCpuPages, s: Int32Array): void {
  [p.count, p.high, p.high_min, p.high_max, p.batch, p.alloc_factor, p.free_count, p.flags] = s as unknown as number[];
}

/** Make `target` equal to `saved`, writing only what differs (most tables do not change). */
function replaceArray<T>(target: T[], saved: readonly T[]): void {
  if (target.length !== saved.length) target.length = saved.length;
  for (let i = 0; i < saved.length; i++) if (target[i] !== saved[i]) target[i] = saved[i]!;
}

/**
 * Save `m`'s whole state (the core's and every plugin's). `MmError(EOPNOTSUPP)` naming the plugins
 * without a {@link Checkpointable}, or passed on from a provider that cannot save exactly.
 */
export function saveMachineCheckpoint(m: Machine): MachineCheckpoint {
  const missing = uncheckpointablePlugins(m);
  if (missing.length > 0) {
    throw new MmError(EOPNOTSUPP, `saveMachineCheckpoint: plugin(s) ${missing.join(', ')} register no Checkpointable`, { rule: 'every plugin of the machine provides a Checkpointable' });
  }
  const plugins = providers(m).map((provider) => ({ provider, saved: provider.save() }));
  const mm = m.memmap;
  const arrays = {} as Record<MemmapArrayName, Uint32Array | Int32Array | Uint8Array>;
  for (const k of MEMMAP_ARRAYS) arrays[k] = mm[k].slice();
  const zoneSet = new Set<Zone>(m.zones);
  for (const z of m.zoneById) if (z !== undefined) zoneSet.add(z);
  const owner = m.ownerOps as unknown as OwnerOpsTablePrivate;
  const t = m.mappings;
  if (!Array.isArray(owner.byId) || !(owner.ids instanceof Map) || typeof (t as unknown as MappingTablePrivate).nextId !== 'number') {
    throw new MmError(EOPNOTSUPP, 'saveMachineCheckpoint: the owner-ops or mapping table changed shape', { rule: 'checkpoint.ts knows every private field it copies' });
  }
  const core: CoreCopy = {
    memmap: mm,
    arrays,
    zones: [...m.zones],
    zoneById: [...m.zoneById],
    zoneCopies: [...zoneSet].map(copyZone),
    nodeCopies: m.nodes.map((n) => ({
      node: n,
      start: n.node_start_pfn,
      spanned: n.node_spanned_pages,
      zones: [...n.node_zones],
      lruvec: saveListHeads(n.lruvec),
      vmstat: n.vmstat.slice(),
    })),
    vmEvents: m.vmEvents.slice(),
    scalars: [m.cpu, m.nrBadPages, m.minFreeKbytes],
    lruAdd: m.lruAddBatch.map((b) => ({ count: b.count, folios: b.folios.slice() })),
    hooks: { ...m.hooks },
    zonelists: m.zonelists.map((l) => (l === undefined ? l : [...l])),
    ownerById: [...owner.byId],
    ownerIds: new Map(owner.ids),
    mainlineBranches: [...m.mainlineBranches],
    movableOps: [...m.movableOps],
    invariantChecks: [...m.invariantChecks],
    mappingNextId: (t as unknown as MappingTablePrivate).nextId,
    spaces: [...t.spaces],
    spaceCopies: t.spaces.filter((as): as is AddressSpace => as !== undefined).map((as) => ({ as, flags: as.flags, nrpages: as.nrpages, i_pages: new Map(as.i_pages) })),
    anonVmas: [...t.anonVmas],
    anonRefcounts: new Map(t.anonVmas.filter((a): a is AnonVma => a !== undefined).map((a) => [a, a.refcount])),
    migrationEntries: new Map([...t.migrationEntries].map(([k, v]) => [k, v.slice()])),
    swapper: t.swapper,
    defaultAops: t.defaultAops,
  };
  const cp: CheckpointData = { machine: m, core, plugins };
  return cp;
}

/**
 * Put `m` back into the state saved in `cp` (the core's, then every plugin's). The machine must be
 * the one saved and not in the middle of an operation. `MmError(EINVAL)` for another machine's
 * checkpoint.
 */
export function restoreMachineCheckpoint(m: Machine, cp: MachineCheckpoint): void {
  if (cp.machine !== m) throw new MmError(EINVAL, 'restoreMachineCheckpoint: the checkpoint is of another machine', { rule: 'restore a checkpoint onto the machine it was saved from' });
  const c = (cp as CheckpointData).core;
  m.memmap = c.memmap;
  const mm = m.memmap;
  for (const k of MEMMAP_ARRAYS) {
    const saved = c.arrays[k];
    if (mm[k].length === saved.length) mm[k].set(saved as never);
    else (mm as unknown as Record<string, unknown>)[k] = saved.slice();
  }
  // A replaced flags array (the memmap grew after the save) needs its two-words-per-element view too.
  if (mm.flagPairs.buffer !== mm.flags.buffer) mm.flagPairs = new Float64Array(mm.flags.buffer, mm.flags.byteOffset, mm.flags.length >> 1);
  replaceArray(m.zones, c.zones);
  replaceArray(m.zoneById, c.zoneById);
  for (const z of c.zoneCopies) restoreZone(z);
  for (const n of c.nodeCopies) {
    n.node.node_start_pfn = n.start;
    n.node.node_spanned_pages = n.spanned;
    replaceArray(n.node.node_zones, n.zones);
    restoreListHeads(n.node.lruvec, n.lruvec);
    n.node.vmstat.set(n.vmstat);
  }
  m.vmEvents.set(c.vmEvents);
  [m.cpu, m.nrBadPages, m.minFreeKbytes] = c.scalars;
  c.lruAdd.forEach((s, cpu) => {
    const b = m.lruAddBatch[cpu]!;
    b.count = s.count;
    b.folios.set(s.folios);
  });
  const hooks = m.hooks as Record<string, unknown>;
  const savedHooks = c.hooks as Record<string, unknown>;
  for (const k in hooks) if (!(k in savedHooks)) delete hooks[k];
  for (const k in savedHooks) if (hooks[k] !== savedHooks[k]) hooks[k] = savedHooks[k];
  const zl = m.zonelists;
  if (zl.length !== c.zonelists.length) zl.length = c.zonelists.length;
  for (let i = 0; i < zl.length; i++) {
    const l = c.zonelists[i];
    if (l === undefined) delete zl[i];
    else if (zl[i] === undefined) zl[i] = [...l];
    else replaceArray(zl[i]!, l);
  }
  const owner = m.ownerOps as unknown as OwnerOpsTablePrivate;
  replaceArray(owner.byId, c.ownerById);
  if (owner.ids.size !== c.ownerIds.size || [...c.ownerIds].some(([k, v]) => owner.ids.get(k) !== v)) {
    owner.ids.clear();
    for (const [k, v] of c.ownerIds) owner.ids.set(k, v);
  }
  replaceArray(m.mainlineBranches, c.mainlineBranches);
  replaceArray(m.movableOps, c.movableOps);
  replaceArray(m.invariantChecks, c.invariantChecks);
  const t = m.mappings;
  (t as unknown as MappingTablePrivate).nextId = c.mappingNextId;
  replaceArray(t.spaces, c.spaces);
  for (const s of c.spaceCopies) {
    s.as.flags = s.flags;
    s.as.nrpages = s.nrpages;
    if (s.as.i_pages.size === 0 && s.i_pages.size === 0) continue;
    s.as.i_pages.clear();
    for (const [k, v] of s.i_pages) s.as.i_pages.set(k, v);
  }
  replaceArray(t.anonVmas, c.anonVmas);
  for (const [a, r] of c.anonRefcounts) a.refcount = r;
  if (t.migrationEntries.size > 0 || c.migrationEntries.size > 0) {
    t.migrationEntries.clear();
    for (const [k, v] of c.migrationEntries) t.migrationEntries.set(k, v.slice());
  }
  t.swapper = c.swapper;
  t.defaultAops = c.defaultAops;
  for (const p of (cp as CheckpointData).plugins) p.provider.restore(p.saved);
}
