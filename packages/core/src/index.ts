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
export { assertValidPfn, assertFolio, assertReferenced } from './debug/validate.js';
export { dump_page, pageFlagNames, pageTypeName } from './debug/dump-page.js';
export { check_invariants } from './debug/invariants.js';
export { captureMachineState, diffMachineState, type MachineState } from './debug/state.js';

export { Memmap, NO_ZONE_FLAGS, MAX_MEMMAP_PAGES } from './page/memmap.js';
export * from './page/word.js';
export * from './page/page-flags.js';
export * from './page/page-type.js';
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
export type { MachineHooks } from './machine/hooks.js';
export { PgData, LRU, NR_LRU_LISTS } from './machine/pglist-data.js';
export { free_area_init, memmap_init, memmap_init_reserved_pages, memblock_free_all, mm_core_init } from './machine/boot.js';

export * from './trace/events.js';
export * from './trace/vmstat.js';
export { buddyinfo } from './trace/buddyinfo.js';
export { ProcfsContributor } from './machine/procfs-contributor.js';
