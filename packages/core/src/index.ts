/**
 * `@mm/core`: an executable model of the Linux kernel's physical-page bookkeeping — the memmap,
 * folios and reference counts, `folio_owner_ops` dispatch (series 1), movable_ops (series 2), the
 * buddy allocator with per-CPU lists and watermarks — for one simulated machine at a time, with
 * plugins installed through dependency injection.
 *
 * Every function named after a kernel function takes the {@link Machine} first and says in its doc
 * comment which kernel file it models and where it differs. The model is sequentially consistent: it
 * says nothing about memory ordering (use herd7/LKMM for that).
 *
 * @packageDocumentation
 */

export * from './errno.js';
export * from './types.js';
export { MmError, VmBugError, type MmErrorDetail } from './debug/mm-error.js';
export { catchMmError } from './debug/catch-mm-error.js';
export { violatedInvariant } from './debug/violated-invariant.js';
export { assertValidPfn, assertValidCpu, assertFolio, assertReferenced } from './debug/validate.js';
export { dump_page, pageFlagNames, pageTypeName } from './debug/dump-page.js';
export { check_invariants } from './debug/invariants.js';
export { captureMachineState, diffMachineState, type MachineState } from './debug/state.js';

export { Memmap, NO_ZONE_FLAGS, MAX_MEMMAP_PAGES } from './page/memmap.js';
export * from './page/word.js';
export * from './page/page-flags.js';
export * from './page/page-type.js';
export * from './page/page-helpers.js';
export * from './page/compound.js';
export * from './page/page-zone.js';

export * from './folio/page-ref.js';
export * from './folio/folio-ref.js';
export * from './folio/folio-lock.js';
export * from './folio/mapcount.js';
export * from './folio/owner-ops.js';
export { __folio_put, free_folio_to_allocator, type FreeDispatchStrategy } from './folio/folio-put.js';
export * from './folio/lru.js';

export * from './alloc/gfp.js';
export * from './alloc/migratetype.js';
export { PageListHeads, list_add, list_add_tail, list_del, list_next, list_linked } from './alloc/page-list.js';
export * from './alloc/zone.js';
export * from './alloc/buddy.js';
export * from './alloc/pcp.js';
export * from './alloc/watermark.js';
export * from './alloc/page-alloc.js';

export * from './migrate/migrate-mode.js';
export * from './migrate/movable-ops.js';

export { Machine, type LruAddBatch } from './machine/machine.js';
export { createMachine } from './machine/create-machine.js';
export { resolveMachineConfig, type MachineConfig, type ResolvedMachineConfig, type PfnRange } from './machine/config.js';
export { memparse } from './machine/memparse.js';
export { InvariantCheck, type MmPlugin } from './machine/plugin.js';
export {
  Checkpointable,
  saveMachineCheckpoint,
  restoreMachineCheckpoint,
  uncheckpointablePlugins,
  saveListHeads,
  restoreListHeads,
  type MachineCheckpoint,
  type PageListsCopy,
} from './machine/checkpoint.js';
export type { MachineHooks } from './machine/hooks.js';
export { PgData, LRU, NR_LRU_LISTS } from './machine/pglist-data.js';
export { free_area_init, memmap_init, memmap_init_reserved_pages, memblock_free_all, mm_core_init } from './machine/boot.js';

export * from './trace/events.js';
export * from './trace/vmstat.js';
export { frag_show } from './trace/frag-show.js';
export { ProcfsContributor } from './machine/procfs-contributor.js';

export * from './migrate/step-result.js';
export * from './migrate/list-head.js';
export * from './migrate/migrate-folio.js';
export * from './migrate/migrate-folio-steps.js';
export * from './migrate/migrate-pages.js';
export * from './migrate/putback.js';
export * from './migrate/migration-target.js';
export * from './migrate/steps.js';
export { MigrationInvariants } from './migrate/migrate-invariants.js';
export { migrationCoreInit } from './migrate/migration-init.js';
export * from './mapping/address-space.js';
export * from './mapping/anon-vma.js';
export * from './mapping/rmap.js';
export * from './mapping/filemap.js';
export * from './mapping/folio-private.js';
export * from './mapping/swap-cache.js';
export * from './mapping/migration-entry.js';
export { MappingTable } from './mapping/mapping-table.js';
export * from './compaction/compact-result.js';
export * from './compaction/compact-control.js';
export * from './compaction/fragmentation.js';
export * from './compaction/skip-hints.js';
export * from './compaction/free-scanner.js';
export * from './compaction/migrate-scanner.js';
export * from './compaction/compact-zone.js';
export * from './compaction/compact-memory.js';
export * from './compaction/direct-compact.js';
export * from './isolation/page-isolation.js';
export * from './hotplug/memory-notify.js';
export * from './hotplug/memory-hotplug.js';

export { break_down_buddy_pages, take_page_off_buddy, takeBlockOffBuddy, freeBlockContaining } from './alloc/take-page-off-buddy.js';
export {
  ReplayableOperations,
  defineReplayableOperation,
  replayableOperations,
  replayOptions,
  type JsonValue,
  type ReplayableOperation,
  type ReplayArgKind,
  type ReplayArgSpec,
  type ReplayArgType,
  type ReplayKindType,
  type ReplayArgTypes,
} from './record/replayable-operation.js';
export { ReplayIds } from './record/replay-ids.js';
export { CORE_REPLAYABLE_OPERATIONS, setCpu, type CoreOps, type CoreOperationFunctions, type OpMethod, type FolioFlagOpName } from './record/core-operations.js';
export {
  TRACE_VERSION,
  machineConfigJson,
  traceHeader,
  formatTraceLine,
  isTraceHeader,
  parseTraceHeader,
  type JsonMachineConfig,
  type TraceHeader,
  type TraceLine,
} from './record/trace-format.js';
export { recordOperations, type RecordedOps, type RecordOptions, type TraceSink } from './record/record-operations.js';
export { replayTrace, TraceReplayer, TraceReplayError, type ReplayOptions, type ReplayResult } from './record/replay-trace.js';
