import 'reflect-metadata';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GFP_KERNEL, __free_pages, alloc_pages, createMachine, type Pfn } from '@mm/core';
import { snapshotFiles, writeSnapshot } from '@mm/procfs';
import { report, result, skipped, type BenchResult } from '../../core/bench/harness.js';

/**
 * snapshot_16GiB: milliseconds to write a full snapshot (kpageflags and kpagecount included, 64 MiB of
 * them) of a 16 GiB machine whose first zone is fragmented. Floor: writing zero-filled files of the same
 * paths and sizes (the same mkdir + write work, nothing computed). Goal: under 1 s.
 */

async function medianMs(run: () => Promise<void>, reps = 5, warm = 1): Promise<number> {
  for (let i = 0; i < warm; i++) await run();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await run();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)]!;
}

const results: BenchResult[] = [];
const name = 'snapshot_16GiB';
if (!skipped(name)) {
  const m = createMachine({ memory: '16G', cpus: 4 });
  const held: Pfn[] = [];
  for (let i = 0; i < 20000; i++) {
    const p = alloc_pages(m, GFP_KERNEL, 0);
    if (p !== -1) held.push(p);
  }
  for (let i = 0; i < held.length; i += 2) __free_pages(m, held[i]!, 0);
  const root = mkdtempSync(join(tmpdir(), 'mm-bench-procfs-'));
  let n = 0;
  const files = snapshotFiles(m);
  const fresh = (): string => join(root, `s${n++}`);
  const ms = await medianMs(async () => {
    const d = fresh();
    await writeSnapshot(m, d);
    await rm(d, { recursive: true });
  });
  const floor = await medianMs(async () => {
    const d = fresh();
    for (const p of new Set([...files.keys()].map((p) => dirname(join(d, p))))) await mkdir(p, { recursive: true });
    await Promise.all([...files].map(([p, data]) => writeFile(join(d, p), new Uint8Array(typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength))));
    await rm(d, { recursive: true });
  });
  const computeMs = await medianMs(async () => void snapshotFiles(m));
  rmSync(root, { recursive: true, force: true });
  const bytes = [...files.values()].reduce((s, d) => s + (typeof d === 'string' ? Buffer.byteLength(d) : d.byteLength), 0);
  results.push(result(name, ms, floor, { unit: 'ms (incl. rm of the tree)', computeMs: Math.round(computeMs), files: files.size, MiB: Math.round(bytes / 2 ** 20) }));
}
report(results);
