import { NR_PAGE_ORDERS, type Machine, type MmEvents, type TraceSink } from '@mm/core';

/**
 * The report's timeline: record a scenario's operations (through the core's `recordOperations`
 * sink) with the tracepoints each one fired and `/proc/buddyinfo` after it.
 *
 * @module
 */

/** Tracepoints counted per operation, in the order of {@link VizEvent.tracepoints}. */
export const VIZ_TRACEPOINTS = [
  'mm_page_alloc',
  'mm_page_free',
  'mm_page_free_batched',
  'mm_page_alloc_extfrag',
  'folio_freed',
  'mm_migrate_pages',
  'mm_compaction_end',
  'bad_page',
] as const satisfies readonly (keyof MmEvents)[];

/** One recorded operation. */
export interface VizEvent {
  /** The operation (`folio_alloc`, a plugin's operation). */
  readonly op: string;
  /** Its JSON arguments, as recorded. */
  readonly args: string;
  /** `ret`: it returned; `err`: rejected with an errno (nothing changed); `bug`: an invariant broke. */
  readonly outcome: 'ret' | 'err' | 'bug';
  /** The JSON result, the errno name or the invariant. */
  readonly detail: string;
  /** How many times each of {@link VIZ_TRACEPOINTS} fired during the operation. */
  readonly tracepoints: readonly number[];
}

/** The recorded timeline. */
export interface VizTimeline {
  /** The operations, in order (at most the recorder's `maxEvents`). */
  readonly events: readonly VizEvent[];
  /**
   * `buddyinfo[i][order]`: free blocks of each order summed over the zones (`free_area[order].nr_free`),
   * before the first operation (`i = 0`) and after each event `i - 1`.
   */
  readonly buddyinfo: readonly (readonly number[])[];
  /** Operations recorded but left out because there were more than `maxEvents`. */
  readonly dropped: number;
}

function sumBuddyinfo(m: Machine): number[] {
  const out = new Array<number>(NR_PAGE_ORDERS).fill(0);
  for (const z of m.zones) for (let o = 0; o < NR_PAGE_ORDERS; o++) out[o]! += z.nr_free[o]!;
  return out;
}

/**
 * Records a machine's timeline for the memory map. Pass {@link sink} to `recordOperations` (alone or
 * after another sink), run the scenario, then {@link detach} and read {@link timeline}. Listening to
 * the tracepoints turns them on (`m.trace.active`) until `detach`.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { GFP_KERNEL, createMachine, recordOperations, type Folio } from '@mm/core';
 * import { VizRecorder } from '@mm/viz';
 *
 * const m = createMachine({ memory: '64M' });
 * const rec = new VizRecorder(m);
 * const ops = recordOperations(m, rec.sink);
 * ops.folio_put(ops.folio_alloc(GFP_KERNEL, 0) as Folio);
 * rec.detach();
 * const t = rec.timeline();
 * console.log(t.events.map((e) => e.op), t.buddyinfo.length); // [ 'folio_alloc', 'folio_put' ] 3
 * ```
 */
export class VizRecorder {
  /** The machine recorded. */
  readonly machine: Machine;
  /** The most events kept (later ones are counted in `dropped`). */
  readonly maxEvents: number;
  private readonly events: VizEvent[] = [];
  private readonly buddyinfo: number[][];
  private readonly counts = new Array<number>(VIZ_TRACEPOINTS.length).fill(0);
  private readonly listeners: (() => void)[] = [];
  private dropped = 0;

  /** Start listening to `m`'s tracepoints; buddyinfo is sampled now as the timeline's first point. */
  constructor(m: Machine, maxEvents = 10000) {
    this.machine = m;
    this.maxEvents = maxEvents;
    this.buddyinfo = [sumBuddyinfo(m)];
    VIZ_TRACEPOINTS.forEach((tp, i) => {
      const fn = (): void => {
        this.counts[i]!++;
      };
      this.listeners.push(fn);
      m.trace.on(tp, fn);
    });
  }

  /** A `TraceSink` for `recordOperations`: each operation line becomes one {@link VizEvent}. */
  readonly sink: TraceSink = (line: string): void => {
    const t = JSON.parse(line) as { op?: string; args?: unknown; ret?: unknown; err?: string; bug?: string };
    if (typeof t.op !== 'string') return; // the header
    const tracepoints = [...this.counts];
    this.counts.fill(0);
    if (this.events.length >= this.maxEvents) {
      this.dropped++;
      return;
    }
    const outcome = t.bug !== undefined ? 'bug' : t.err !== undefined ? 'err' : 'ret';
    const detail = t.bug ?? t.err ?? JSON.stringify(t.ret ?? null);
    this.events.push({ op: t.op, args: JSON.stringify(t.args ?? []), outcome, detail, tracepoints });
    this.buddyinfo.push(sumBuddyinfo(this.machine));
  };

  /** Stop listening to the tracepoints. */
  detach(): void {
    VIZ_TRACEPOINTS.forEach((tp, i) => this.machine.trace.off(tp, this.listeners[i]));
    this.listeners.length = 0;
  }

  /** The timeline recorded so far. */
  timeline(): VizTimeline {
    return { events: [...this.events], buddyinfo: this.buddyinfo.map((r) => [...r]), dropped: this.dropped };
  }
}
