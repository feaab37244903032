/**
 * `pnpm bench` for @mm/cli:
 * - `replay`: replaying a recorded trace of 1 M operations from its file, as `mmsim replay` does
 *   (read the file, `TraceReplayer.run` over its bytes; the machine is booted outside the timing), in
 *   ns per operation and operations per second (goal ≥ 2 M/s). The trace is the seeded workload of the
 *   record/replay tests on a 1 GiB, 4-CPU machine: folio allocations of orders 0–3 and 9 (THP) with
 *   GFP_KERNEL / GFP_HIGHUSER_MOVABLE, gets, puts, `folio_put_refs`, batch `folios_put`, LRU adds
 *   (with `__folio_set_swapbacked`) and isolate/putback through the per-CPU batches, trylock/unlock,
 *   ref freeze/unfreeze, CPU switches, `lru_add_drain_all` (1.5 %), `drain_all_pages` (0.1 %) and
 *   rejected calls (0.2 %, `"err"` lines); `mix` lists each operation's share. Floor: reading the same
 *   file and parsing every line with `JSON.parse`, applying nothing. `modelNsPerOp` is the model's own
 *   share (the same, already parsed operations applied through the replay table, argument checks
 *   included, no parsing or result checks) and `replayOverModel` the replay's cost over it;
 *   `stepNsPerOp` replays the same lines one `step` call each, without reading the file;
 *   `readNsPerOp` is reading the file alone; `pcpBulkBlocksPerOp` counts the blocks the per-CPU
 *   lists refill from and drain to the buddy lists per operation (untimed pass), where most of
 *   the model's time goes.
 * - `kernel_trace_import`: importing an ftrace text trace of 200 k page-allocator events, in ns per
 *   event, beside a floor: matching the same lines with one regular expression.
 */
import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CORE_REPLAYABLE_OPERATIONS, MmError, TraceReplayer, createMachine, recordOperations, replayableOperations, type TraceLine } from '@mm/core';
import { importKernelTrace } from '../src/index.js';
import { runWorkload } from '../test/workload.js';
import { report, result, skipped, timeNsPerOp, type BenchResult } from '../../core/bench/harness.js';

const results: BenchResult[] = [];

/** Median ns per operation of `run()`, which replays one trace of `n` operations on a machine booted by `boot()` outside the timing. */
function replayNsPerOp<T>(boot: () => T, run: (t: T) => void, n: number, reps = 5, warm = 2): number {
  const t: number[] = [];
  for (let r = 0; r < warm + reps; r++) {
    const booted = boot();
    const t0 = process.hrtime.bigint();
    run(booted);
    const ns = Number(process.hrtime.bigint() - t0) / n;
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
  const dir = mkdtempSync(join(tmpdir(), 'mmsim-bench-'));
  const path = join(dir, 'replay.trace');
  writeFileSync(path, `${lines.join('\n')}\n`);
  const header = lines[0]!;
  const headerEnd = header.length + 1; // the header is ASCII: its bytes are its characters
  // What `mmsim replay` does once the machine is booted: read the file, replay every line in place.
  const ns = replayNsPerOp(
    () => new TraceReplayer(header),
    (rep) => {
      rep.run(readFileSync(path), headerEnd, 2);
      if (rep.operations !== n) throw new Error(`replayed ${rep.operations} of ${n} operations`);
    },
    n,
  );
  // Reading the file alone (part of both the replay and the floor).
  let bytes = 0;
  const readNs = timeNsPerOp(() => {
    bytes += readFileSync(path).length;
  }, n);
  if (bytes < 0) console.log(bytes);
  // The same through `step`, line by line, as a caller that already holds the lines does (no reading).
  const stepNs = replayNsPerOp(
    () => new TraceReplayer(header),
    (rep) => {
      for (let i = 1; i < lines.length; i++) rep.step(lines[i]!, i + 1);
    },
    n,
    3,
    1,
  );
  // Floor: reading the same file and parsing every line with JSON.parse, without applying anything.
  let sink = 0;
  const floor = timeNsPerOp(() => {
    const text = readFileSync(path, 'utf8');
    for (let p = text.indexOf('\n') + 1; p < text.length; ) {
      const e = text.indexOf('\n', p);
      sink += (JSON.parse(text.slice(p, e)) as { args: unknown[] }).args.length;
      p = e + 1;
    }
  }, n);
  if (sink < 0) console.log(sink);
  // The model's own share: the same operations, already parsed, applied through the replay table
  // (argument checks included) with no reading, parsing or result checking.
  const parsed = lines.slice(1).map((l) => JSON.parse(l) as TraceLine);
  const modelNs = replayNsPerOp(
    () => {
      const mm = new TraceReplayer(header).machine;
      const table = replayableOperations(mm, CORE_REPLAYABLE_OPERATIONS);
      return { mm, calls: parsed.map((t) => [table.get(t.op)!, t.args] as const) };
    },
    ({ mm, calls }) => {
      for (const [op, args] of calls) {
        try {
          op.apply(mm, args);
        } catch (e) {
          if (!(e instanceof MmError)) throw e;
        }
      }
    },
    n,
  );
  // Untimed: how many blocks the per-CPU lists move to and from the buddy lists per operation
  // (rmqueue_bulk refills and free_pcppages_bulk drains, counted by their tracepoints) — the
  // kernel work that makes a replayed operation cost more than the pcp-hit paths of core's bench.
  const counted = new TraceReplayer(header).machine;
  const countTable = replayableOperations(counted, CORE_REPLAYABLE_OPERATIONS);
  let bulkBlocks = 0;
  counted.trace.on('mm_page_alloc_zone_locked', () => bulkBlocks++);
  counted.trace.on('mm_page_pcpu_drain', () => bulkBlocks++);
  for (const t of parsed) {
    try {
      countTable.get(t.op)!.apply(counted, t.args);
    } catch (e) {
      if (!(e instanceof MmError)) throw e;
    }
  }
  rmSync(dir, { recursive: true });
  const mix = new Map<string, number>();
  for (const t of parsed) mix.set(t.op, (mix.get(t.op) ?? 0) + 1);
  const top = [...mix].sort((a, b) => b[1] - a[1]).map(([op, c]) => `${op}:${((c * 100) / n).toFixed(1)}%`);
  results.push(
    result('replay', ns, floor, {
      operations: n,
      opsPerSecond: Math.round(1e9 / ns),
      goalOpsPerSecond: 2_000_000,
      modelNsPerOp: Math.round(modelNs),
      replayOverModel: Math.round((ns / modelNs) * 100) / 100,
      readNsPerOp: Math.round(readNs),
      stepNsPerOp: Math.round(stepNs),
      pcpBulkBlocksPerOp: Math.round((bulkBlocks / n) * 100) / 100,
      mix: top.join(','),
    }),
  );
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
