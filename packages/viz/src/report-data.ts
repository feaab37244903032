import { gzipSync } from 'node:zlib';
import {
  MIGRATETYPE_NAMES,
  PG,
  PGTY,
  ZONE_NAMES,
  pageblock_order,
  type Machine,
} from '@mm/core';
import { classifyPages, type PageOwnerMap } from './classify-pages.js';
import type { PageOwnerDescriber } from './page-owner-describer.js';
import { VIZ_TRACEPOINTS, type VizTimeline } from './viz-recorder.js';
import type { VizViolation } from './violations.js';

/**
 * The data a report embeds: cells (one per page, or one per pageblock above a size threshold) with
 * their owner, the details shown on hover, the pageblock migratetypes, the legend, the violations and
 * the timeline. Typed arrays are gzipped and base64-encoded.
 *
 * @module
 */

/** Above this many pages the map draws one cell per pageblock (512 pages) instead of one per page. */
export const PAGE_MODE_MAX_PAGES = 2 ** 18;

/** Options of {@link buildReportData}. */
export interface ReportDataOptions {
  /** The report's title. */
  readonly title?: string;
  /** The describers to classify with (default: none; `renderVizReport` passes `pageOwnerDescribers(m)`). */
  readonly describers?: readonly PageOwnerDescriber[];
  /** The recorded timeline, if any. */
  readonly timeline?: VizTimeline;
  /** Invariant violations to mark. */
  readonly violations?: readonly VizViolation[];
  /** Draw one cell per page up to this many pages (default {@link PAGE_MODE_MAX_PAGES}). */
  readonly pageModeMaxPages?: number;
}

/** A legend entry: a kind and how many pages it has. */
export interface ReportKind {
  /** Label. */
  readonly name: string;
  /** CSS colour. */
  readonly color: string;
  /** Owner. */
  readonly owner: string;
  /** Pages of this kind. */
  readonly pages: number;
}

/** The JSON document embedded in a report. */
export interface ReportData {
  /** Title. */
  readonly title: string;
  /** One line about the machine (memory, nodes, strategy, plugins). */
  readonly machine: string;
  /** Struct pages (cells in page mode). */
  readonly nrPages: number;
  /** `page`: one cell per page; `pageblock`: one cell per pageblock. */
  readonly mode: 'page' | 'pageblock';
  /** Pages per cell (1 or 512). */
  readonly cellPages: number;
  /** Cells. */
  readonly cells: number;
  /** Cells per row. */
  readonly cols: number;
  /** Every kind the classification knows, with page counts (the legend shows those with pages). */
  readonly kinds: readonly ReportKind[];
  /** PG_ names by bit (first name per bit), `PGTY` names by value, migratetype and zone names. */
  readonly tables: {
    /** PG_ flag names indexed by bit. */
    readonly pg: readonly string[];
    /** Page type names by PGTY value. */
    readonly pgty: Readonly<Record<number, string>>;
    /** Migratetype names (`migratetype_names[]`). */
    readonly migratetypes: readonly string[];
    /** Zone names by zone index. */
    readonly zones: readonly string[];
  };
  /**
   * Base64 of gzipped little-endian typed arrays. Per page: `owner` (u8 kind index), `flags` (u32),
   * `refcount` (i32), `mapcount` (i32, the raw `_mapcount`/`page_type` word) and `headDelta` (i32:
   * PFN minus its folio's head, 0 unless a tail). Per pageblock: `pageblock` (u8: bits 0–2 the
   * migratetype, bit 4 isolate). In pageblock mode, per cell: `blockOwner` (u8, the dominant kind),
   * `blockSecond` (u8, the second), `blockMix` (u8: pages of other kinds than the dominant, 0–255 of
   * 512) and `blockCounts` (u16 per cell per kind).
   */
  readonly arrays: Readonly<Record<string, string>>;
  /** Violations. */
  readonly violations: readonly VizViolation[];
  /** The timeline: tracepoint names, events as `[op, args, outcome, detail, ...counts]`, buddyinfo rows. */
  readonly timeline: {
    /** Names of the counted tracepoints. */
    readonly tracepoints: readonly string[];
    /** Events. */
    readonly events: readonly (readonly (string | number)[])[];
    /** Free blocks per order, before the first event and after each. */
    readonly buddyinfo: readonly (readonly number[])[];
    /** Events left out. */
    readonly dropped: number;
  };
}

/** Gzip and base64 a typed array's bytes (little-endian, as on every host Node and Chromium run on here). */
function pack(a: ArrayBufferView): string {
  return gzipSync(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), { level: 6 }).toString('base64');
}

/** PG_ names indexed by bit: the first name of each bit, as `pageFlagNames` prints them. */
function pgNames(): string[] {
  const out: string[] = [];
  for (const [name, bit] of Object.entries(PG)) if (out[bit] === undefined) out[bit] = name;
  return out;
}

/** Cells per row: 128, doubled until the map is no taller than wide. */
function colsFor(cells: number): number {
  let cols = 128;
  while (cols * cols < cells) cols *= 2;
  return cols;
}

/** Build a report's data from the machine's current state (read only). */
export function buildReportData(m: Machine, options: ReportDataOptions = {}): ReportData {
  const map: PageOwnerMap = classifyPages(m, options.describers ?? []);
  const mm = m.memmap;
  const n = mm.nrPages;
  const pageMode = n <= (options.pageModeMaxPages ?? PAGE_MODE_MAX_PAGES);
  const cellPages = pageMode ? 1 : 2 ** pageblock_order;
  const cells = Math.ceil(n / cellPages);
  const nk = map.kinds.length;
  const headDelta = new Int32Array(n);
  const lru = mm.lru;
  for (let p = 0; p < n; p++) {
    const w = lru[p]!;
    if ((w & 1) !== 0) headDelta[p] = p - ((w >>> 2) - 1);
  }
  const arrays: Record<string, string> = {
    owner: pack(map.owner),
    flags: pack(mm.flags),
    refcount: pack(mm.refcount),
    mapcount: pack(mm.mapcount),
    headDelta: pack(headDelta),
    pageblock: pack(mm.pageblock),
  };
  if (!pageMode) {
    const owner = new Uint8Array(cells);
    const second = new Uint8Array(cells);
    const mix = new Uint8Array(cells);
    const counts = new Uint16Array(cells * nk);
    for (let c = 0; c < cells; c++) {
      const base = c * nk;
      const from = c * cellPages;
      const end = Math.min(n, from + cellPages);
      for (let p = from; p < end; p++) counts[base + map.owner[p]!]!++;
      let a = 0;
      let b = -1;
      for (let k = 1; k < nk; k++) {
        if (counts[base + k]! > counts[base + a]!) {
          b = a;
          a = k;
        } else if (b < 0 || counts[base + k]! > counts[base + b]!) b = k;
      }
      owner[c] = a;
      second[c] = b < 0 || counts[base + b] === 0 ? a : b;
      mix[c] = Math.ceil(((end - from - counts[base + a]!) * 255) / cellPages); // any other page shows
    }
    Object.assign(arrays, { blockOwner: pack(owner), blockSecond: pack(second), blockMix: pack(mix), blockCounts: pack(counts) });
  }
  const tl = options.timeline;
  const c = m.config;
  return {
    title: options.title ?? 'memory map',
    machine: `${n} PFNs with struct pages (${(n * 4) / 1024} MiB), ${c.nodes} node(s), ${c.cpus} CPU(s), strategy ${m.strategy}, plugins: ${m.pluginNames.join(', ') || 'none'}`,
    nrPages: n,
    mode: pageMode ? 'page' : 'pageblock',
    cellPages,
    cells,
    cols: colsFor(cells),
    kinds: map.kinds.map((k, i) => ({ ...k, pages: map.counts[i]! })),
    tables: {
      pg: pgNames(),
      pgty: Object.fromEntries(Object.entries(PGTY).map(([name, v]) => [v, name])),
      migratetypes: MIGRATETYPE_NAMES,
      zones: ZONE_NAMES,
    },
    arrays,
    violations: options.violations ?? [],
    timeline: {
      tracepoints: [...VIZ_TRACEPOINTS],
      events: (tl?.events ?? []).map((e) => [e.op, e.args, e.outcome, e.detail, ...e.tracepoints]),
      buddyinfo: tl?.buddyinfo ?? [],
      dropped: tl?.dropped ?? 0,
    },
  };
}
