import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EINVAL, MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE, MmError, NR_ZONE, get_pfnblock_migratetype, type Machine } from '@mm/core';
import { KT_ALLOC, KT_ALLOC_FAILED, KT_FREE, KT_FREE_BATCHED, importKernelTrace, parseKernelTrace } from '../src/index.js';

const fixture = (name: string): string[] => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8').split('\n');

/** Pages on a zone's buddy free lists, from its nr_free counts (Σ nr_free[k]·2^k, §11.1). */
const onFreeLists = (m: Machine, zone: string): number => m.zones.find((z) => z.name === zone)!.nr_free.reduce((s, n, k) => s + n * 2 ** k, 0);

/** A line of `/sys/kernel/tracing/trace` (ftrace, v6.x) for one of the kmem events. */
const ft = (event: string, fields: string, pid = 100): string =>
  `${'stress-ng'.padStart(16)}-${String(pid).padEnd(7)} [001] .....   100.000001: ${event}: page=000000001b2c3d4e ${fields}`;

// The three fixtures hold the same workload excerpt in the three formats (see test/fixtures/), with
// format-specific noise: ftrace's header and an overrun notice and a truncated line, trace-cmd's
// header and an event with an impossible order, a perf warning line. Its events (line order):
//   alloc 0x8000/0, alloc 0x8001/0, alloc 0x8200/9 (THP), alloc 0x6004/2 (unmovable),
//   free 0x5100/0 (never allocated: pre-trace), free 0x8001/0 + its mm_page_free_batched,
//   free 0x7000/3 (pre-trace), a failed order-10 alloc, free 0x8200/9, alloc 0x5100/0 (reclaimable).
const FIXTURES = [
  { file: 'ftrace-trace.txt', format: 'ftrace', other: 'sched_switch', malformed: [{ line: 17, reason: 'mm_page_alloc without pfn=' }], lost: [{ line: 22, events: 2 }] },
  { file: 'trace-cmd-report.txt', format: 'trace-cmd', other: 'sched_switch', malformed: [{ line: 10, reason: 'mm_page_alloc of order 12, above MAX_PAGE_ORDER (10)' }], lost: [] },
  { file: 'perf-script.txt', format: 'perf-script', other: 'sched:sched_switch', malformed: [{ line: 7, reason: 'not a trace line (comm-pid [cpu] timestamp: event: fields)' }], lost: [] },
] as const;

describe('kernel trace import', () => {
  for (const f of FIXTURES) {
    it(`reads ${f.format} text with the kernel's meaning of each event (${f.file})`, () => {
      const { machine: m, report: r } = importKernelTrace(fixture(f.file), { debugVm: true });
      expect(r.format).toBe(f.format);
      expect(r.events).toEqual({ mm_page_alloc: 5, mm_page_alloc_failed: 1, mm_page_free: 4, mm_page_free_batched: 1 });
      // mm_page_free_batched comes with the mm_page_free of the same page: it is not a second free.
      expect(r.batched).toBe('annotation');
      // 0x5100 (1 page) and 0x7000 (8 pages) are freed but never allocated in the trace.
      expect(r.preTraceFrees).toEqual({ events: 2, pages: 9 });
      // Allocated: 1 + 1 + 512 + 4 + 1; freed: the 9 pre-trace pages, 0x8001 and the THP.
      expect(r.pages).toEqual({ allocated: 519, freed: 522 });
      expect(r.heldAtEnd).toBe(6); // 0x8000, 0x6004-0x6007, 0x5100
      expect(r.otherEvents.map((o) => o.name)).toEqual([f.other]);
      expect(r.malformed.map(({ line, reason }) => ({ line, reason }))).toEqual(f.malformed);
      expect(r.lost).toEqual(f.lost);
      expect(r.conflicts).toEqual([]);
      // The machine covers the traced PFNs (highest 0x83ff), rounded up to 4 MiB: 0x8400 pages = 132 MiB.
      expect(r.machine.memory).toBe('132M');
      expect(r.memoryFrom).toBe('trace');
      // DMA32 (PFNs 0x1000-0x83ff) starts with the 9 pre-trace pages allocated, ends with 6 pages held.
      const dma32 = m.zones.find((z) => z.name === 'DMA32')!;
      expect(onFreeLists(m, 'DMA32')).toBe(0x7400 - 6);
      expect(dma32.vmstat[NR_ZONE.nr_free_pages]).toBe(0x7400 - 6);
      const before = r.buddyinfoBefore.split('\n')[1]!.trim().split(/\s+/).slice(4).map(Number);
      expect(before.reduce((s, n, k) => s + n * 2 ** k, 0)).toBe(0x7400 - 9);
      expect(r.buddyinfoAfter).toBe(
        'Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n' +
          'Node 0, zone    DMA32      2      2      3      3      3      3      3      3      3      3     26 \n',
      );
      // Allocations from whole free pageblocks claim them for their migratetype (try_to_claim_block).
      expect(get_pfnblock_migratetype(m, 0x6004)).toBe(MIGRATE_UNMOVABLE);
      expect(get_pfnblock_migratetype(m, 0x5100)).toBe(MIGRATE_RECLAIMABLE);
      expect(get_pfnblock_migratetype(m, 0x8000)).toBe(MIGRATE_MOVABLE);
      expect(m.memmap.refcount[0x6004]).toBe(1);
    });
  }

  it('the three formats give the same events', () => {
    const parsed = FIXTURES.map((f) => parseKernelTrace(fixture(f.file)).events);
    const summary = parsed.map((e) => Array.from({ length: e.count }, (_, i) => [e.kind[i], e.pfn[i], e.order[i], e.migratetype[i]]));
    expect(summary[1]).toEqual(summary[0]);
    expect(summary[2]).toEqual(summary[0]);
    expect(summary[0]!.map((e) => e[0])).toEqual([KT_ALLOC, KT_ALLOC, KT_ALLOC, KT_ALLOC, KT_FREE, KT_FREE, KT_FREE_BATCHED, KT_FREE, KT_ALLOC_FAILED, KT_FREE, KT_ALLOC]);
  });

  it('a free of memory the trace never allocated is a pre-trace free, also inside a larger block, never an error', () => {
    const trace = [
      ft('mm_page_free', 'pfn=0x2000 order=2'), // pre-trace: 4 pages
      ft('mm_page_alloc', 'pfn=0x2000 order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE'),
      ft('mm_page_free', 'pfn=0x2000 order=1'), // 0x2000 traced; 0x2001 was freed on line 1 already
      ft('mm_page_free', 'pfn=0x3008 order=3'), // pre-trace
      ft('mm_page_free', 'pfn=0x300c order=0'), // inside the block just freed: already free
    ];
    const { machine: m, report: r } = importKernelTrace(trace, { debugVm: true });
    expect(r.preTraceFrees).toEqual({ events: 2, pages: 12 });
    expect(r.conflicts).toEqual([
      expect.objectContaining({ line: 3, message: expect.stringMatching(/^free of pfn 0x2000 order 1: 1 page\(s\) already free in the model/) }),
      expect.objectContaining({ line: 5, message: expect.stringMatching(/^free of pfn 0x300c order 0: 1 page\(s\) already free in the model/) }),
    ]);
    expect(r.heldAtEnd).toBe(0);
    // Before: 12 pre-trace pages allocated; after: everything free (pcp lists are not used). The
    // machine: the highest PFN 0x300f rounded up to 4 MiB, 0x3400 pages = 52 MiB.
    const dma32Pages = 0x3400 - 0x1000;
    expect(r.machine.memory).toBe('52M');
    const before = r.buddyinfoBefore.split('\n')[1]!.trim().split(/\s+/).slice(4).map(Number);
    expect(before.reduce((s, n, k) => s + n * 2 ** k, 0)).toBe(dma32Pages - 12);
    expect(onFreeLists(m, 'DMA32')).toBe(dma32Pages);
  });

  it('reads mm_page_free_batched as an order-0 free when the trace has no mm_page_free at all', () => {
    const trace = [
      ft('mm_page_alloc', 'pfn=0x2001 order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE'),
      ft('mm_page_free_batched', 'pfn=0x2001 order=0'),
      ft('mm_page_free_batched', 'pfn=0x2002 order=0'), // pre-trace
    ];
    const { report: r } = importKernelTrace(trace);
    expect(r.batched).toBe('free');
    expect(r.preTraceFrees).toEqual({ events: 1, pages: 1 });
    expect(r.pages).toEqual({ allocated: 1, freed: 2 });
    expect(r.heldAtEnd).toBe(0);
  });

  it('reports allocations over held pages (lost frees) and reserved pages with their lines, and keeps going', () => {
    const trace = [
      'CPU:1 [LOST 17 EVENTS]',
      ft('mm_page_alloc', 'pfn=0x2000 order=1 migratetype=0 gfp_flags=GFP_KERNEL'),
      ft('mm_page_alloc', 'pfn=0x2000 order=2 migratetype=0 gfp_flags=GFP_KERNEL'), // over 0x2000-0x2001
      ft('mm_page_alloc', 'pfn=0x80 order=0 migratetype=0 gfp_flags=GFP_KERNEL'), // x86 reserves the first 1 MiB
      ft('mm_page_free', 'pfn=0x2000 order=2'),
    ];
    const { machine: m, report: r } = importKernelTrace(trace, { debugVm: true });
    expect(r.lost).toEqual([{ line: 1, events: 17 }]);
    expect(r.conflicts.map((c) => c.line)).toEqual([3, 4]);
    expect(r.conflicts[0]!.message).toMatch(/over 2 page\(s\) the trace still holds/);
    expect(r.conflicts[1]!.message).toMatch(/reserves it/);
    expect(r.heldAtEnd).toBe(0);
    expect(onFreeLists(m, 'DMA32')).toBe(0x2400 - 0x1000); // 36 MiB: 0x2004 rounded up to 4 MiB
  });

  it('lists every line it does not understand, with its number; decimal PFNs of older kernels are read', () => {
    const trace = [
      '# tracer: nop',
      ft('mm_page_alloc', 'pfn=8192 order=0 migratetype=1 gfp_flags=GFP_USER'), // pfn=%lu before 5.x
      'garbage',
      ft('mm_page_free', 'order=0'),
      ft('mm_page_free', 'pfn=0x2001 order=11'),
      ft('mm_page_free', 'pfn=0x2001 order=1'),
      ft('mm_page_alloc', 'pfn=0x2002 order=0 gfp_flags=GFP_USER'),
      ft('kmalloc', 'call_site=kmem_cache_alloc+0x1d ptr=0000000012345678 bytes_req=64 bytes_alloc=64 gfp_flags=GFP_KERNEL'),
      '',
      ft('kmalloc', 'call_site=x ptr=y'),
      `${'stress-ng'.padStart(16)}-100     [001] .....   100.000002: <stack trace>`,
      ' => __alloc_pages_noprof',
      ' => alloc_pages_mpol',
    ];
    const { report: r } = importKernelTrace(trace);
    expect(r.malformed.map(({ line, reason }) => [line, reason])).toEqual([
      [3, 'not a trace line (comm-pid [cpu] timestamp: event: fields)'],
      [4, 'mm_page_free without pfn='],
      [5, 'mm_page_free of order 11, above MAX_PAGE_ORDER (10)'],
      [6, 'mm_page_free of order 1 at pfn 0x2001, not aligned to 2 pages'],
      [7, 'mm_page_alloc without migratetype='],
    ]);
    expect(r.malformed[0]!.text).toBe('garbage');
    expect(r.otherEvents).toEqual([
      { name: 'kmalloc', count: 2, firstLine: 8 },
      { name: '(stack trace)', count: 3, firstLine: 11 },
    ]);
    expect(r.events.mm_page_alloc).toBe(1);
    expect(r.heldAtEnd).toBe(1);
  });

  it('builds the machine from the options when given, and refuses one that does not cover the trace', () => {
    const trace = [ft('mm_page_alloc', 'pfn=0x12000 order=9 migratetype=1 gfp_flags=GFP_TRANSHUGE')];
    const r = importKernelTrace(trace, { memory: '1G', nodes: 2 }).report;
    expect(r.memoryFrom).toBe('options');
    expect(r.machine).toMatchObject({ memory: '1G', nodes: 2 });
    try {
      importKernelTrace(trace, { memory: '256M' });
      expect.unreachable();
    } catch (e) {
      expect((e as MmError).errno).toBe(EINVAL);
      expect((e as MmError).message).toBe('EINVAL: trace PFN 0x121ff (line 1) lies beyond memory 256M (last PFN 0xffff) (rule: the machine covers every traced PFN)');
    }
  });
});
