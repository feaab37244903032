/**
 * `pnpm bench` for @mm/cli:
 * - `replay`: replaying a recorded trace of 1 M operations (the seeded workload of the record/replay
 *   tests on a 1 GiB machine: allocations of mixed orders, gets, puts, batch puts, LRU traffic, locks,
 *   freezes, CPU switches, rare `drain_all_pages` (0.1 %) and rejected calls (0.2 %)), in ns per
 *   operation and operations per second
 *   (goal ≥ 2 M/s), beside a floor: parsing the same lines with `JSON.parse` alone. The machine is
 *   booted outside the timing (`TraceReplayer`), so the figure is the per-line cost. `modelNsPerOp` is
 *   the model's own share: applying the same, already parsed operations with no parsing or checking.
 * - `kernel_trace_import`: importing an ftrace text trace of 200 k page-allocator events, in ns per
 *   event, beside a floor: matching the same lines with one regular expression.
 */
import 'reflect-metadata';
import { CORE_REPLAYABLE_OPERATIONS, MmError, TraceReplayer, createMachine, recordOperations, replayableOperations, type TraceLine } from '@mm/core';
import { importKernelTrace } from '../src/index.js';
import { runWorkload } from '../test/workload.js';
import { report, result, skipped, timeNsPerOp, type BenchResult } from '../../core/bench/harness.js';

const results: BenchResult[] = [];

/** Median ns per line of replaying `lines` (header first) on a freshly booted machine each run. */
function replayNsPerOp(lines: readonly string[], reps = 5, warm = 2): number {
  const t: number[] = [];
  for (let r = 0; r < warm + reps; r++) {
    const rep = new TraceReplayer(lines[0]!);
    const t0 = process.hrtime.bigint();
    for (let i = 1; i < lines.length; i++) rep.step(lines[i]!, i + 1);
    const ns = Number(process.hrtime.bigint() - t0) / (lines.length - 1);
    if (r >= warm) t.push(ns);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)]!;
}

if (!skipped('replay')) {
  const m = createMachine({ memory: '1G', cpus: 4 });
  const lines: string[] = [];
  const ops = recordOperations(m, (l) => lines.push(l));
  for (let seed = 1; ops.count < 1_000_000; seed++) runWorkload(ops, { steps: Math.min(100_000, 1_000_000 - ops.count), seed, maxLive: 20_000, drainsPerMille: 1, errorsPerMille: 2 });
  const n = lines.length - 1;
  const ns = replayNsPerOp(lines);
  let sink = 0;
  const floor = timeNsPerOp(() => {
    for (let i = 1; i < lines.length; i++) sink += (JSON.parse(lines[i]!) as { args: unknown[] }).args.length;
  }, n);
  if (sink < 0) console.log(sink);
  const parsed = lines.slice(1).map((l) => JSON.parse(l) as TraceLine);
  const model: number[] = [];
  for (let r = 0; r < 5; r++) {
    const mm = new TraceReplayer(lines[0]!).machine;
    const table = replayableOperations(mm, CORE_REPLAYABLE_OPERATIONS);
    const t0 = process.hrtime.bigint();
    for (const t of parsed) {
      try {
        table.get(t.op)!.apply(mm, t.args);
      } catch (e) {
        if (!(e instanceof MmError)) throw e;
      }
    }
    if (r >= 2) model.push(Number(process.hrtime.bigint() - t0) / n);
  }
  model.sort((a, b) => a - b);
  results.push(result('replay', ns, floor, { operations: n, opsPerSecond: Math.round(1e9 / ns), goalOpsPerSecond: 2_000_000, modelNsPerOp: Math.round(model[1]!) }));
}

if (!skipped('kernel_trace_import')) {
  // 200 k events on a 4 GiB host: order-0..3 allocations and frees over a sliding window, THP now and then.
  const lines: string[] = ['# tracer: nop', '#'];
  const held: [number, number][] = [];
  let x = 12345;
  const next = (): number => (x = (x * 1103515245 + 12345) >>> 0);
  const line = (ev: string, body: string): string => `${'stress-ng'.padStart(16)}-4242    [001] .....  1000.000001: ${ev}: page=00000000deadbeef ${body}`;
  const used = new Set<number>();
  while (lines.length < 200_002) {
    if (held.length > 0 && (next() % 2 === 0 || held.length > 5000)) {
      const [pfn, order] = held.splice(next() % held.length, 1)[0]!;
      used.delete(pfn);
      lines.push(line('mm_page_free', `pfn=0x${pfn.toString(16)} order=${order}`));
    } else {
      const order = next() % 50 === 0 ? 9 : next() % 4;
      const pfn = (0x100000 + (next() % 0x80000)) & ~((1 << 9) - 1);
      if (used.has(pfn)) continue;
      used.add(pfn);
      held.push([pfn, order]);
      lines.push(line('mm_page_alloc', `pfn=0x${pfn.toString(16)} order=${order} migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE`));
    }
  }
  const n = lines.length - 2;
  const ns = timeNsPerOp(() => importKernelTrace(lines), n, 3, 1);
  const re = /^\s*(.*?)-(\d+)\s+\[(\d+)\]\s+(\S+)\s+(\d+\.\d+):\s+(\w+):\s*(.*)$/;
  let hits = 0;
  const floor = timeNsPerOp(() => {
    for (let i = 2; i < lines.length; i++) if (re.test(lines[i]!)) hits++;
  }, n);
  if (hits < 0) console.log(hits);
  results.push(result('kernel_trace_import', ns, floor, { events: n }));
}

report(results);
