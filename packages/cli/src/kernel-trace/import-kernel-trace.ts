import {
  EINVAL,
  FPI_NONE,
  MAX_PAGE_ORDER,
  MIGRATE_PCPTYPES,
  MmError,
  PAGE_SIZE,
  PG,
  VM_EVENT,
  buddy_order,
  createMachine,
  freeBlockContaining,
  frag_show,
  free_one_page,
  free_pages_prepare,
  get_pfnblock_migratetype,
  is_migrate_isolate,
  machineConfigJson,
  memparse,
  move_to_free_list,
  pageblock_nr_pages,
  pageblock_order,
  set_pageblock_migratetype,
  takeBlockOffBuddy,
  type JsonMachineConfig,
  type Machine,
} from '@mm/core';
import { KT_ALLOC, KT_FREE, KT_FREE_BATCHED, parseKernelTrace, type KernelTraceFormat, type LostEvents, type MalformedLine, type OtherEvent, type ParsedKernelTrace } from './parse-kernel-trace.js';

/**
 * Replaying a kernel page-allocator trace into a machine: every traced allocation takes exactly the
 * traced block off the model's free lists, every traced free returns it, so that the buddy allocator's
 * state (`/proc/buddyinfo`) shows what the real workload did to fragmentation.
 *
 * How the model reads the trace:
 * - A trace starts mid-stream: a free of pages the trace never allocated frees pages allocated before
 *   the trace began. A first pass finds them; the machine starts with them allocated (the "before"
 *   buddyinfo is the state at the start of the trace as far as the trace reveals it), and their frees
 *   are counted as pre-trace frees, never rejected.
 * - Frees go straight to the buddy lists, as `__free_pages_ok` does: the real per-CPU lists' contents
 *   are not in the trace, so the model keeps none (a freed block merges at once).
 * - `mm_page_free_batched` is, in every kernel, emitted together with the `mm_page_free` of the same
 *   page (`free_unref_folios` calls `free_pages_prepare` first), so it is counted, not freed again —
 *   unless the trace has no `mm_page_free` events at all (only the batched event was enabled), in which
 *   case each one frees its page (order 0: the tracepoint prints no other).
 * - An allocation whose free block covers a whole pageblock or more claims those pageblocks for its
 *   migratetype, as `try_to_claim_block` does for such a block; smaller fallbacks leave pageblock
 *   types alone (the `mm_page_alloc_extfrag` events that would tell are not imported).
 * - The machine's zones follow x86-64 (DMA below 16 MiB, DMA32 below 4 GiB, Normal above), RAM is
 *   contiguous from PFN 0 (a real host's holes, such as the PCI hole below 4 GiB, are RAM here) and
 *   the first 1 MiB is reserved, as x86 reserves it.
 *
 * @module
 */

/** Options of {@link importKernelTrace}. */
export interface KernelTraceImportOptions {
  /** RAM of the traced host (`memparse` text or bytes); default: the traced PFN range rounded up to 4 MiB per node. */
  readonly memory?: number | string;
  /** NUMA nodes (RAM is split evenly). Default 1. */
  readonly nodes?: number;
  /** CPUs. Default 2. */
  readonly cpus?: number;
  /** Machine seed. Default 1. */
  readonly seed?: number;
  /** Check every invariant after each step (slow; for small traces and tests). */
  readonly debugVm?: boolean;
  /** Called with (events applied, total events) every 65536 events and at the end. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Something the trace does that the model's state does not allow, with how the import resolved it. */
export interface TraceConflict {
  /** 1-based line of the event. */
  readonly line: number;
  /** What happened and what the import did. */
  readonly message: string;
}

/** What {@link importKernelTrace} found and did. */
export interface KernelTraceReport {
  /** The trace's text format. */
  readonly format: KernelTraceFormat;
  /** Lines read. */
  readonly lines: number;
  /** Events by type (`mm_page_alloc` successful ones; failed ones separately). */
  readonly events: ParsedKernelTrace['counts'];
  /** How `mm_page_free_batched` events were read: `annotation` of a traced `mm_page_free`, or `free` of the page. */
  readonly batched: 'annotation' | 'free';
  /** Frees of memory allocated before the trace began: events, and pages. */
  readonly preTraceFrees: {
    /** `mm_page_free` events that freed at least one page allocated before the trace began. */
    readonly events: number;
    /** Pages those events freed that were allocated before the trace began. */
    readonly pages: number;
  };
  /** Pages the traced allocations took and the traced frees returned (pre-trace frees included). */
  readonly pages: {
    /** Pages the replayed `mm_page_alloc` events took (skipped allocations not counted). */
    readonly allocated: number;
    /** Pages the replayed frees returned to the buddy allocator, pre-trace pages included. */
    readonly freed: number;
  };
  /** Pages allocated by the trace and still held when it ends. */
  readonly heldAtEnd: number;
  /** The machine replayed into. */
  readonly machine: JsonMachineConfig;
  /** Where its memory size came from. */
  readonly memoryFrom: 'options' | 'trace';
  /** One past the highest traced PFN. */
  readonly pfnEnd: number;
  /** Other tracepoints seen. */
  readonly otherEvents: readonly OtherEvent[];
  /** Lines not understood, with their line numbers. */
  readonly malformed: readonly MalformedLine[];
  /** Ring-buffer overruns the trace reports. */
  readonly lost: readonly LostEvents[];
  /** Events the model's state did not allow, and what was done. */
  readonly conflicts: readonly TraceConflict[];
  /** `/proc/buddyinfo` at the start of the trace (pre-trace allocations in place). */
  readonly buddyinfoBefore: string;
  /** `/proc/buddyinfo` at its end. */
  readonly buddyinfoAfter: string;
}

/** A kernel trace replayed into a machine. */
export interface KernelTraceImport {
  /** The machine, in the state the trace leaves it. */
  readonly machine: Machine;
  /** The report. */
  readonly report: KernelTraceReport;
}

const FREE = 0;
const TRACE = 1;
const PRE_TRACE = 2;

/** Machine size: `options.memory`, or the traced range rounded up to 4 MiB per node (at least 16 MiB). */
function machinePages(t: ParsedKernelTrace, o: KernelTraceImportOptions): { pages: number; from: 'options' | 'trace' } {
  const nodes = o.nodes ?? 1;
  if (o.memory !== undefined) {
    const pages = memparse(o.memory) / PAGE_SIZE;
    if (t.pfnEnd > pages) {
      throw new MmError(EINVAL, `trace PFN 0x${(t.pfnEnd - 1).toString(16)} (line ${t.pfnEndLine}) lies beyond memory ${o.memory} (last PFN 0x${(pages - 1).toString(16)})`, {
        rule: 'the machine covers every traced PFN',
      });
    }
    return { pages, from: 'options' };
  }
  const unit = (1 << MAX_PAGE_ORDER) * nodes;
  return { pages: Math.max(4096, Math.ceil(t.pfnEnd / unit) * unit), from: 'trace' };
}

/** The pages freed before being allocated: pass 1 of the import. */
function preTracePages(t: ParsedKernelTrace, nrPages: number, batchedFrees: boolean): Uint8Array {
  const state = new Uint8Array(nrPages); // 0 unknown, 1 held by the trace, 2 freed by the trace
  const pre = new Uint8Array(nrPages);
  const { kind, pfn, order, count } = t.events;
  for (let i = 0; i < count; i++) {
    const k = kind[i]!;
    const p = pfn[i]!;
    const n = 1 << order[i]!;
    if (k === KT_ALLOC) state.fill(1, p, p + n);
    else if (k === KT_FREE || (k === KT_FREE_BATCHED && batchedFrees)) {
      for (let q = p; q < p + n; q++) {
        if (state[q] === 0) pre[q] = 1;
        state[q] = 2;
      }
    }
  }
  return pre;
}

class Importer {
  readonly own: Uint8Array;
  readonly conflicts: TraceConflict[] = [];
  preEvents = 0;
  prePages = 0;
  allocated = 0;
  freed = 0;
  private readonly reservedBit = 1 << PG.reserved;

  constructor(readonly m: Machine) {
    this.own = new Uint8Array(m.max_pfn);
  }

  conflict(line: number, message: string): void {
    this.conflicts.push({ line, message });
  }

  reserved(p: number, n: number): boolean {
    const flags = this.m.memmap.flags;
    for (let q = p; q < p + n; q++) if ((flags[q]! & this.reservedBit) !== 0) return true;
    return false;
  }

  /** Setup: take the pre-trace pages off the free lists, in the largest aligned blocks. */
  takePreTrace(pre: Uint8Array): void {
    const m = this.m;
    const n = pre.length;
    const flags = m.memmap.flags;
    for (let p = 0; p < n; ) {
      if (pre[p] === 0 || (flags[p]! & this.reservedBit) !== 0) {
        p++;
        continue;
      }
      let o = 0;
      const grows = (): boolean => {
        const half = 1 << o;
        const end = p + 2 * half;
        return p % (2 * half) === 0 && end <= n && flags[p]! >>> 24 === flags[end - 1]! >>> 24 && allSet(pre, p + half, half) && !this.reserved(p + half, half);
      };
      while (o < MAX_PAGE_ORDER && grows()) o++;
      if (!takeBlockOffBuddy(m, p, o)) {
        // Not on the free lists (cannot happen on a fresh machine): its free is reported as a conflict.
        p++;
        continue;
      }
      m.memmap.refcount[p] = 1;
      this.own.fill(PRE_TRACE, p, p + (1 << o));
      p += 1 << o;
    }
  }

  alloc(p: number, order: number, mt: number, line: number): void {
    const m = this.m;
    const n = 1 << order;
    if (this.reserved(p, n)) {
      this.conflict(line, `allocation of pfn 0x${p.toString(16)} order ${order}: the model reserves it (x86 reserves the first 1 MiB); skipped`);
      return;
    }
    let held = 0;
    for (let q = p; q < p + n; q++) if (this.own[q] !== FREE) held++;
    if (held > 0) {
      this.conflict(line, `allocation of pfn 0x${p.toString(16)} order ${order} over ${held} page(s) the trace still holds (a free the trace lacks: lost events?); freed them first`);
      this.freeHeld(p, order);
    }
    const head = freeBlockContaining(m, p);
    if (head < 0) {
      this.conflict(line, `allocation of pfn 0x${p.toString(16)} order ${order}: not on the model's free lists; skipped`);
      return;
    }
    const ho = buddy_order(m, head);
    const zone = m.zoneById[m.memmap.flags[p]! >>> 24]!;
    const blockMt = get_pfnblock_migratetype(m, head);
    if (ho >= pageblock_order && mt >= 0 && mt < MIGRATE_PCPTYPES && mt !== blockMt && !is_migrate_isolate(blockMt)) {
      // try_to_claim_block(): a fallback block of a pageblock or more becomes the requester's type.
      move_to_free_list(m, zone, head, ho, blockMt, mt);
      for (let b = head; b < head + (1 << ho); b += pageblock_nr_pages) set_pageblock_migratetype(m, b, mt);
    }
    if (!takeBlockOffBuddy(m, p, order)) {
      this.conflict(line, `allocation of pfn 0x${p.toString(16)} order ${order}: the block is split over free blocks that cannot merge; skipped`);
      return;
    }
    m.memmap.refcount[p] = 1;
    this.own.fill(TRACE, p, p + n);
    m.vmEvents[VM_EVENT.pgalloc_dma + zone.zid]! += n;
    if (m.trace.active) m.trace.emit('mm_page_alloc', { pfn: p, order, gfp_flags: 0, migratetype: mt });
    this.allocated += n;
  }

  free(p: number, order: number, line: number): void {
    const n = 1 << order;
    if (this.reserved(p, n)) {
      this.conflict(line, `free of pfn 0x${p.toString(16)} order ${order}: the model reserves it (x86 reserves the first 1 MiB); skipped`);
      return;
    }
    let pre = 0;
    let free = 0;
    for (let q = p; q < p + n; q++) {
      const o = this.own[q]!;
      if (o === PRE_TRACE) pre++;
      else if (o === FREE) free++;
    }
    if (pre > 0) {
      this.preEvents++;
      this.prePages += pre;
    }
    if (free > 0) {
      this.conflict(
        line,
        `free of pfn 0x${p.toString(16)} order ${order}: ${free} page(s) already free in the model (freed earlier in the trace and allocated again by a path without mm_page_alloc, such as compaction's free scanner, or events were lost); freed the rest`,
      );
    }
    this.freeHeld(p, order);
    if (this.m.debugVm) this.m.checkInvariants('mm_page_free');
  }

  /** Free every held page of the block, in the largest aligned sub-blocks that are wholly held. */
  private freeHeld(p: number, order: number): void {
    const n = 1 << order;
    let held = 0;
    for (let q = p; q < p + n; q++) if (this.own[q] !== FREE) held++;
    if (held === 0) return;
    if (held < n) {
      this.freeHeld(p, order - 1);
      this.freeHeld(p + (n >> 1), order - 1);
      return;
    }
    const m = this.m;
    m.memmap.refcount.fill(0, p, p + n);
    this.own.fill(FREE, p, p + n);
    this.freed += n;
    if (!free_pages_prepare(m, p, order)) return;
    free_one_page(m, m.zoneById[m.memmap.flags[p]! >>> 24]!, p, order, FPI_NONE);
  }

  /** Pages the trace allocated and did not free. */
  heldAtEnd(): number {
    let pages = 0;
    const { own } = this;
    for (let q = 0; q < own.length; q++) if (own[q] === TRACE) pages++;
    return pages;
  }
}

function allSet(a: Uint8Array, from: number, n: number): boolean {
  for (let i = from; i < from + n; i++) if (a[i] === 0) return false;
  return true;
}

/**
 * Replay a kernel page-allocator trace (its lines) into a new machine whose memory covers the traced
 * PFNs (see the module comment for how each event is read), and report what happened: events by type,
 * pre-trace frees, pages held at the end, buddyinfo before and after, and every line that was not
 * understood or did not fit the model's state, with its line number. `MmError(EINVAL)` before anything
 * is built if `options.memory` does not cover the traced PFNs or the machine options are invalid.
 */
export function importKernelTrace(lines: Iterable<string>, options: KernelTraceImportOptions = {}): KernelTraceImport {
  const t = parseKernelTrace(lines);
  const { pages, from } = machinePages(t, options);
  const m = createMachine({
    memory: pages * PAGE_SIZE,
    nodes: options.nodes ?? 1,
    cpus: options.cpus ?? 2,
    seed: options.seed ?? 1,
    debugVm: options.debugVm ?? false,
  });
  const batchedFrees = t.counts.mm_page_free === 0 && t.counts.mm_page_free_batched > 0;
  const imp = new Importer(m);
  imp.takePreTrace(preTracePages(t, m.max_pfn, batchedFrees));
  const buddyinfoBefore = frag_show(m);
  const { kind, pfn, order, migratetype, line, count } = t.events;
  const progress = options.onProgress;
  for (let i = 0; i < count; i++) {
    const k = kind[i]!;
    if (k === KT_ALLOC) imp.alloc(pfn[i]!, order[i]!, migratetype[i]!, line[i]!);
    else if (k === KT_FREE || (k === KT_FREE_BATCHED && batchedFrees)) imp.free(pfn[i]!, order[i]!, line[i]!);
    if (progress !== undefined && (i & 0xffff) === 0xffff) progress(i + 1, count);
  }
  progress?.(count, count);
  if (m.debugVm) m.checkInvariants('importKernelTrace');
  const report: KernelTraceReport = {
    format: t.format,
    lines: t.lines,
    events: t.counts,
    batched: batchedFrees ? 'free' : 'annotation',
    preTraceFrees: { events: imp.preEvents, pages: imp.prePages },
    pages: { allocated: imp.allocated, freed: imp.freed },
    heldAtEnd: imp.heldAtEnd(),
    machine: machineConfigJson(m),
    memoryFrom: from,
    pfnEnd: t.pfnEnd,
    otherEvents: t.otherEvents,
    malformed: t.malformed,
    lost: t.lost,
    conflicts: imp.conflicts,
    buddyinfoBefore,
    buddyinfoAfter: frag_show(m),
  };
  return { machine: m, report };
}
