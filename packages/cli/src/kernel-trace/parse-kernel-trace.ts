import { MAX_PAGE_ORDER } from '@mm/core';

/**
 * Parsing a kernel trace of the page allocator's tracepoints (`include/trace/events/kmem.h`) in the
 * three text formats people have:
 *
 * - `/sys/kernel/tracing/trace` (or `trace_pipe`), ftrace's own text:
 *   `bash-1234 [001] ..... 12345.678901: mm_page_alloc: page=00000000c4e1d7a2 pfn=0x1a2b3 order=0 ...`
 *   (the `irqs-off/need-resched/...` flags column and the `(tgid)` column are optional; `# ...`
 *   header lines are comments; `CPU:1 [LOST 42 EVENTS]` marks a ring-buffer overrun; the `stacktrace`
 *   option's `<stack trace>` and `=> function` lines are counted as `(stack trace)`);
 * - `trace-cmd report`: `bash-1234 [001] 12345.678901: mm_page_alloc: page=0xffffea... pfn=...`
 *   after `version = 6` / `cpus=4` / `CPU 3 is empty` header lines;
 * - `perf script`: `bash 1234 [001] 12345.678901: kmem:mm_page_alloc: page=0xffffea... pfn=...`.
 *
 * The events and their printed fields (`TP_printk`):
 * - `mm_page_alloc: page=%p pfn=0x%lx order=%d migratetype=%d gfp_flags=%s`, emitted by
 *   `__alloc_pages` for every allocation, successful or not (a failed one prints a NULL page and
 *   pfn 0);
 * - `mm_page_free: page=%p pfn=0x%lx order=%d`, emitted by `free_pages_prepare` for every block
 *   freed to the allocator;
 * - `mm_page_free_batched: page=%p pfn=0x%lx order=0`, emitted by `free_unref_folios`
 *   (`free_unref_page_list`, `free_hot_cold_page_list` in older kernels) for each page of a batch
 *   free, in addition to the `mm_page_free` that `free_pages_prepare` emits for the same page; its
 *   order is printed as 0 whatever the folio's order.
 *
 * Kernels before 5.x printed `pfn=%lu` in decimal: a pfn without `0x` is read as decimal. Older
 * `mm_page_free_batched` lines carry `cold=%d`, which is ignored.
 *
 * @module
 */

/** Which text format a trace is in. */
export type KernelTraceFormat = 'ftrace' | 'trace-cmd' | 'perf-script';

/** `mm_page_alloc` of a block. */
export const KT_ALLOC = 0;
/** `mm_page_alloc` that failed (NULL page, pfn 0). */
export const KT_ALLOC_FAILED = 1;
/** `mm_page_free`. */
export const KT_FREE = 2;
/** `mm_page_free_batched`. */
export const KT_FREE_BATCHED = 3;

/** The imported events, in trace order, as parallel arrays (`count` entries). */
export interface KernelTraceEvents {
  /** Number of events. */
  readonly count: number;
  /** `KT_*` kind of each event. */
  readonly kind: Uint8Array;
  /** PFN of each event. */
  readonly pfn: Float64Array;
  /** Order of each event. */
  readonly order: Uint8Array;
  /** Migratetype of each `mm_page_alloc` (-1 for other events). */
  readonly migratetype: Int8Array;
  /** 1-based line number of each event. */
  readonly line: Int32Array;
}

/** A line that could not be read, with why. */
export interface MalformedLine {
  /** 1-based line number. */
  readonly line: number;
  /** Why it was not understood. */
  readonly reason: string;
  /** The line (at most 200 characters). */
  readonly text: string;
}

/** Tracepoints other than the three imported ones, by name. */
export interface OtherEvent {
  /** The event's name as printed (`sched_switch`, `kmem:kmalloc`). */
  readonly name: string;
  /** How many lines carried it. */
  readonly count: number;
  /** The first of them. */
  readonly firstLine: number;
}

/** A ring-buffer overrun the trace reports (events are missing there). */
export interface LostEvents {
  /** 1-based line number of the notice. */
  readonly line: number;
  /** How many events were lost, as the notice says. */
  readonly events: number;
}

/** What {@link parseKernelTrace} read. */
export interface ParsedKernelTrace {
  /** The text format, from the header lines and the first event line. */
  readonly format: KernelTraceFormat;
  /** Number of lines. */
  readonly lines: number;
  /** The page-allocator events, in order. */
  readonly events: KernelTraceEvents;
  /** Events by tracepoint name (`mm_page_alloc` counts successful allocations only). */
  readonly counts: {
    /** Successful `mm_page_alloc` events. */
    readonly mm_page_alloc: number;
    /** Failed `mm_page_alloc` events (NULL page, pfn 0). */
    readonly mm_page_alloc_failed: number;
    /** `mm_page_free` events. */
    readonly mm_page_free: number;
    /** `mm_page_free_batched` events. */
    readonly mm_page_free_batched: number;
  };
  /** One past the highest PFN any event touches (0 if none). */
  readonly pfnEnd: number;
  /** The line of the event that sets `pfnEnd`. */
  readonly pfnEndLine: number;
  /** Other tracepoints, in order of first appearance. */
  readonly otherEvents: readonly OtherEvent[];
  /** Lines that are neither comments, known headers nor trace events, or events with bad fields. */
  readonly malformed: readonly MalformedLine[];
  /** Ring-buffer overruns. */
  readonly lost: readonly LostEvents[];
}

// comm-pid [cpu] (flags) timestamp: event: body — ftrace and trace-cmd report.
const FTRACE_LINE = /^\s*(.*?)-(\d+)\s+(?:\(\s*(?:\d+|-+)\)\s+)?\[(\d+)\]\s+(?:[^\s:]{4,6}\s+)?(\d+\.\d+):\s+([\w:]+):\s*(.*)$/;
// comm pid[/tid] [cpu] timestamp: system:event: body — perf script.
const PERF_LINE = /^\s*(.*?)\s+(\d+)(?:\/\d+)?\s+\[(\d+)\]\s+(\d+\.\d+):\s+(?:\d+\s+)?(\w+:\w+):\s*(.*)$/;
const TRACE_CMD_HEADER = /^(?:cpus=\d+|version = \d+|CPU \d+ is empty)\s*$/;
const LOST = /\[\s*LOST (\d+) EVENTS\s*\]|\[(\d+) EVENTS DROPPED\]/;
const PFN = /(?:^|\s)pfn=(0x[0-9a-fA-F]+|\d+)(?=\s|$)/;
const ORDER = /(?:^|\s)order=(\d+)(?=\s|$)/;
const MIGRATETYPE = /(?:^|\s)migratetype=(-?\d+)(?=\s|$)/;
const PAGE = /(?:^|\s)page=(\S+)/;
const NULL_PAGE = /^(?:0+|0x0+|\(null\)|\(nil\))$/;
// ftrace's `stacktrace` option: a `<stack trace>` (or `<user stack trace>`) event, then `=> function` lines.
const STACK = /^\s*=> |: <(?:user )?stack trace>\s*$/;

class EventBuffer {
  count = 0;
  kind = new Uint8Array(1024);
  pfn = new Float64Array(1024);
  order = new Uint8Array(1024);
  migratetype = new Int8Array(1024);
  line = new Int32Array(1024);

  push(kind: number, pfn: number, order: number, mt: number, line: number): void {
    if (this.count === this.kind.length) this.grow();
    const i = this.count++;
    this.kind[i] = kind;
    this.pfn[i] = pfn;
    this.order[i] = order;
    this.migratetype[i] = mt;
    this.line[i] = line;
  }

  private grow(): void {
    const n = this.kind.length * 2;
    const g = <T extends Uint8Array | Int8Array | Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a as never);
      return b;
    };
    this.kind = g(this.kind, (k) => new Uint8Array(k));
    this.pfn = g(this.pfn, (k) => new Float64Array(k));
    this.order = g(this.order, (k) => new Uint8Array(k));
    this.migratetype = g(this.migratetype, (k) => new Int8Array(k));
    this.line = g(this.line, (k) => new Int32Array(k));
  }
}

function parsePfn(body: string): number | null {
  const m = PFN.exec(body);
  if (m === null) return null;
  return m[1]!.startsWith('0x') ? parseInt(m[1]!.slice(2), 16) : parseInt(m[1]!, 10);
}

/**
 * Read a kernel trace (its lines, e.g. `text.split('\n')`): every `mm_page_alloc`, `mm_page_free`
 * and `mm_page_free_batched` event with its PFN, order and migratetype, in order. Nothing is
 * skipped silently: blank lines, `#` comments and trace-cmd's header lines are the only lines
 * passed over; other tracepoints are counted by name, overrun notices are listed, and every other
 * line — or an event whose fields do not parse (no `pfn=`, an order above MAX_PAGE_ORDER) — is listed
 * in `malformed` with its line number.
 */
export function parseKernelTrace(lines: Iterable<string>): ParsedKernelTrace {
  const ev = new EventBuffer();
  const counts = { mm_page_alloc: 0, mm_page_alloc_failed: 0, mm_page_free: 0, mm_page_free_batched: 0 };
  const other = new Map<string, { name: string; count: number; firstLine: number }>();
  const malformed: MalformedLine[] = [];
  const lost: LostEvents[] = [];
  let ftraceHeader = false;
  let traceCmdHeader = false;
  let perf = false;
  let pfnEnd = 0;
  let pfnEndLine = 0;
  let n = 0;
  const count = (name: string): void => {
    const o = other.get(name);
    if (o === undefined) other.set(name, { name, count: 1, firstLine: n });
    else o.count++;
  };
  const bad = (reason: string, text: string): void => {
    malformed.push({ line: n, reason, text: text.length > 200 ? `${text.slice(0, 200)}…` : text });
  };
  for (const raw of lines) {
    n++;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    let event: string;
    let body: string;
    const f = text.charCodeAt(0) === 35 /* # */ ? null : FTRACE_LINE.exec(text);
    if (f !== null) {
      event = f[5]!;
      body = f[6]!;
    } else {
      const t = text.trim();
      if (t.length === 0) continue;
      if (t.startsWith('#')) {
        if (t.startsWith('# tracer:')) ftraceHeader = true;
        continue;
      }
      if (TRACE_CMD_HEADER.test(t)) {
        traceCmdHeader = true;
        continue;
      }
      if (STACK.test(text)) {
        count('(stack trace)');
        continue;
      }
      const lostMatch = LOST.exec(t);
      if (lostMatch !== null) {
        lost.push({ line: n, events: Number(lostMatch[1] ?? lostMatch[2]) });
        continue;
      }
      const p = PERF_LINE.exec(text);
      if (p === null) {
        bad('not a trace line (comm-pid [cpu] timestamp: event: fields)', text);
        continue;
      }
      perf = true;
      event = p[5]!;
      body = p[6]!;
    }
    const name = event.startsWith('kmem:') ? event.slice(5) : event;
    if (name !== 'mm_page_alloc' && name !== 'mm_page_free' && name !== 'mm_page_free_batched') {
      count(event);
      continue;
    }
    const pfn = parsePfn(body);
    const orderMatch = ORDER.exec(body);
    if (pfn === null) {
      bad(`${name} without pfn=`, text);
      continue;
    }
    if (orderMatch === null) {
      bad(`${name} without order=`, text);
      continue;
    }
    const order = Number(orderMatch[1]);
    if (order > MAX_PAGE_ORDER) {
      bad(`${name} of order ${order}, above MAX_PAGE_ORDER (${MAX_PAGE_ORDER})`, text);
      continue;
    }
    if (pfn % (1 << order) !== 0) {
      bad(`${name} of order ${order} at pfn 0x${pfn.toString(16)}, not aligned to ${1 << order} pages`, text);
      continue;
    }
    if (name === 'mm_page_alloc') {
      const mtMatch = MIGRATETYPE.exec(body);
      if (mtMatch === null) {
        bad('mm_page_alloc without migratetype=', text);
        continue;
      }
      const page = PAGE.exec(body)?.[1] ?? '';
      if (pfn === 0 || NULL_PAGE.test(page)) {
        counts.mm_page_alloc_failed++;
        ev.push(KT_ALLOC_FAILED, 0, order, Number(mtMatch[1]), n);
        continue;
      }
      counts.mm_page_alloc++;
      ev.push(KT_ALLOC, pfn, order, Number(mtMatch[1]), n);
    } else if (name === 'mm_page_free') {
      counts.mm_page_free++;
      ev.push(KT_FREE, pfn, order, -1, n);
    } else {
      counts.mm_page_free_batched++;
      ev.push(KT_FREE_BATCHED, pfn, 0, -1, n);
    }
    const end = pfn + (1 << order);
    if (end > pfnEnd) {
      pfnEnd = end;
      pfnEndLine = n;
    }
  }
  const format: KernelTraceFormat = perf ? 'perf-script' : traceCmdHeader && !ftraceHeader ? 'trace-cmd' : 'ftrace';
  const events: KernelTraceEvents = {
    count: ev.count,
    kind: ev.kind.subarray(0, ev.count),
    pfn: ev.pfn.subarray(0, ev.count),
    order: ev.order.subarray(0, ev.count),
    migratetype: ev.migratetype.subarray(0, ev.count),
    line: ev.line.subarray(0, ev.count),
  };
  return { format, lines: n, events, counts, pfnEnd, pfnEndLine, otherEvents: [...other.values()], malformed, lost };
}
