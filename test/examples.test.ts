import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const outputs = new Map<string, string>();

/** Run an example as the README shows it (tsx from source) and return its stdout (once per example and test file). */
function runExample(name: string): string {
  let out = outputs.get(name);
  if (out === undefined) outputs.set(name, (out = runExampleOnce(name)));
  return out;
}

function runExampleOnce(name: string): string {
  return execFileSync(process.execPath, ['--conditions=@mm/source', '--import', 'tsx', join('examples', name)], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.test.json') },
    timeout: 60_000,
  });
}

describe('examples run as the README shows them', () => {
  it("the README's quick start runs and prints what it says", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const code = /## Quick start\n\n```ts\n([\s\S]*?)```/.exec(readme)![1]!;
    const file = join(root, 'examples', '.readme-quick-start.ts');
    writeFileSync(file, code);
    try {
      const out = runExample('.readme-quick-start.ts');
      // folio_alloc(order 9) then the last put frees the 2 MiB folio: one mm_page_free of order 9.
      expect(out).toMatch(/^mm_page_free: pfn=\d+ order=9$/m);
      expect(out).toContain('Node 0, zone    DMA32 ');
    } finally {
      rmSync(file);
    }
  });

  it('demo.ts boots the default machine, allocates, frees, and ends with the boot buddyinfo', () => {
    const out = runExample('demo.ts');
    // Default 1 GiB machine: DMA32 holds 252 order-10 blocks at boot, and everything merges back.
    const boot = 'Node 0, zone    DMA32      0      0      0      0      0      0      0      0      0      0    252 ';
    expect(out.split(boot)).toHaveLength(3);
    expect(out).toContain('mm_page_alloc_extfrag: pfn=0x1000 alloc_order=0 fallback_order=10');
    expect(out).toContain('mm_page_free: pfn=0x1400 order=9');
    expect(out).toMatch(/pgalloc_dma32 514 \(\+514\)/);
    expect(out).toContain('bad pages: 0');
  });

  it('custom-owner.ts gives the same result under both strategies', () => {
    const out = runExample('custom-owner.ts').trim().split('\n');
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^\[owner-ops\] pool of 8 pages; .* came home at refcount 0; free\(\) ran 9 times; lru word 0x6$/);
    expect(out[1]).toMatch(/^\[mainline\] pool of 8 pages; .* came home at refcount 0; free\(\) ran 9 times; lru word 0x0$/);
    expect(out[0]!.replace(/\[.*?\]|lru word.*/g, '')).toBe(out[1]!.replace(/\[.*?\]|lru word.*/g, ''));
  });

  it('fragmentation-study.ts: both strategies and both page-type rules agree, and compaction makes order-9 blocks', () => {
    const [header, ...lines] = runExample('fragmentation-study.ts').trim().split('\n');
    expect(header!.split('|').map((c) => c.trim())).toEqual(['', 'owner-ops sticky', 'mainline sticky', 'owner-ops clear', 'mainline clear']);
    const rows = new Map(
      lines.map((l) => {
        const [label, ...cells] = l.split('|').map((c) => c.trim());
        return [label!, cells] as const;
      }),
    );
    expect(rows.size).toBe(11);
    // Neither switch changes where any page goes: every row is the same in all four columns.
    for (const [label, cells] of rows) expect(new Set(cells), label).toHaveProperty('size', 1);
    const n = (label: string): number => Number(rows.get(label)![0]);
    // Half the anonymous folios were unmapped between movable pages: no free pageblock before, so
    // every free page sits below order 9; compaction migrates anon and balloon pages out and frees whole blocks.
    expect(n('free blocks of order >= 9 before')).toBe(0);
    expect(n('extfrag order 9 before (%)')).toBe(100);
    expect(n('free blocks of order >= 9 after')).toBeGreaterThan(n('free blocks of order >= 9 before'));
    expect(n('extfrag order 9 after (%)')).toBeLessThan(n('extfrag order 9 before (%)'));
    expect(n('pgmigrate_success')).toBeGreaterThan(0);
    expect(n('balloon_migrate')).toBeGreaterThan(0);
  });

  it('vm-host.ts: hugetlb-backed guest memory, conversions, pressure down to the watermark, compaction', () => {
    const out = runExample('vm-host.ts');
    const stages = out.split(/^== \d+\. /m).slice(1);
    expect(stages).toHaveLength(8);
    const num = (stage: number, re: RegExp): number => Number(re.exec(stages[stage - 1]!)![1]);
    const memFree = (stage: number): number => num(stage, /MemFree: (\d+) kB/);
    const hugeFree = (stage: number): number => num(stage, /HugePages_Free: (\d+)/);
    // 128 MiB boot: everything is free; 16 huge pages take 16 × 2048 kB from the buddy allocator.
    expect(memFree(1)).toBe(num(1, /MemTotal: (\d+) kB/));
    expect(stages[1]).toContain('HugePages_Total: 16  HugePages_Free: 16');
    expect(memFree(1) - memFree(2)).toBe(16 * 2048);
    // 8 MiB of guest memory: four huge pages lent to guest_memfd out of the pool, none from the buddy lists.
    expect(hugeFree(3)).toBe(12);
    expect(memFree(3)).toBe(memFree(2));
    // Sharing 4 pages splits their 2 MiB folio; the host's pin refuses the way back with -EAGAIN (11);
    // after the unpin it succeeds and the 512 pieces merge into one folio again.
    expect(stages[3]).toContain('to shared: 0; huge folio splits 1, merges 0');
    expect(stages[3]).toContain('to private while the host pins page 17: -11; huge folio splits 1, merges 0');
    expect(stages[3]).toContain('to private after unpin_user_page: 0; huge folio splits 1, merges 1');
    expect(hugeFree(4)).toBe(12);
    // Pressure: the fast path wants the low watermark, the slow path (no reclaim in the model) the min one;
    // the first failure leaves DMA32 between the two.
    const [free, min, low] = /DMA32 at (\d+) free pages \(watermarks min (\d+), low (\d+)\)/.exec(stages[4]!)!.slice(1).map(Number);
    expect(stages[4]).toMatch(/^ {2}folio_alloc failed/m);
    expect(free).toBeGreaterThanOrEqual(min!);
    expect(free).toBeLessThan(low!);
    const mapped = num(5, /anonymous pages mapped (\d+)/);
    const ballooned = num(5, /balloon pages (\d+)/);
    const swapped = num(5, /pages swapped out (\d+)/);
    // Per 8 faults: 6 mapped, 1 swapped out, 1 balloon page; the counters agree with the lists.
    expect(Math.abs(mapped - 6 * swapped)).toBeLessThanOrEqual(6);
    expect(Math.abs(ballooned - swapped)).toBeLessThanOrEqual(1);
    expect(num(5, /AnonPages: (\d+) kB/)).toBe(mapped * 4);
    expect(num(5, /Balloon: (\d+) kB/)).toBe(ballooned * 4);
    // zram: 1..3 KiB objects (plus a handle) pack about two to a page; nr_zspages counts the same pages.
    const zsPages = num(5, /in (\d+) zsmalloc pages/);
    expect(zsPages).toBeLessThan(swapped);
    expect(zsPages).toBeGreaterThan(swapped / 4);
    expect(num(5, /nr_zspages (\d+)/)).toBe(zsPages);
    // Every other mapped page is unmapped: no free block of order 9 or 10 (2 MiB) anywhere, though
    // ~37 MiB are free.
    const buddyinfo = (stage: number): number[][] =>
      [...stages[stage - 1]!.matchAll(/^Node 0, zone +\w+((?: +\d+){11})/gm)].map((r) => r[1]!.trim().split(/ +/).map(Number));
    for (const orders of buddyinfo(6)) expect(orders[9]! + orders[10]!).toBe(0);
    // So the THP allocation compacts directly, once, and succeeds.
    expect(stages[6]).toMatch(/a 2 MiB folio; compact_stall 1 compact_success 1 pgmigrate_success [1-9]\d*/);
    // compact_memory migrates anonymous, balloon and zsmalloc pages (pgmigrate_success counts all of
    // them) and rebuilds free 2 MiB blocks; it frees nothing and leaves the hugetlb pool alone.
    const migrated = num(8, /pgmigrate_success \+(\d+)/);
    const balloonMigrated = num(8, /balloon_migrate (\d+)/);
    const zsMoved = num(8, /zsmalloc pages moved (\d+)/);
    expect(balloonMigrated).toBeGreaterThan(0);
    expect(zsMoved).toBeGreaterThan(0);
    expect(migrated).toBeGreaterThanOrEqual(balloonMigrated + zsMoved);
    expect(sum(buddyinfo(8).map((o) => o[9]! + o[10]!))).toBeGreaterThan(0);
    expect(stages[7]).toContain(`zram0: ${swapped}/${swapped} swapped pages read back intact`);
    expect(num(8, /AnonPages: (\d+) kB/)).toBe(Math.floor(mapped / 2) * 4);
    expect(num(8, /Balloon: (\d+) kB/)).toBe(ballooned * 4);
    expect(hugeFree(8)).toBe(12);
    expect(out).toContain('conversions done 2, refused with -EAGAIN 1; bad pages 0');
  });

  it('every output line the README shows for an example is a line the example prints', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const start = readme.indexOf('## Examples');
    const section = readme.slice(start, readme.indexOf('\n## ', start + 3));
    const shown = [...section.matchAll(/^- `([\w-]+\.ts)`[^\n]*\n(?:(?! *```)[^\n]*\n)* *```\n([\s\S]*?)\n *```/gm)];
    expect(shown.map((r) => r[1])).toEqual(['demo.ts', 'custom-owner.ts', 'fragmentation-study.ts', 'vm-host.ts']);
    for (const [, name, block] of shown) {
      const printed = runExample(name!).split('\n').map((l) => l.trim());
      for (const line of block!.split('\n').map((l) => l.trim())) {
        if (line === '...') continue;
        // A line ending in "..." shows the first columns of a wider line.
        const found = line.endsWith(' ...') ? printed.some((l) => l.startsWith(line.slice(0, -4))) : printed.includes(line);
        expect(found, `${name}: README shows a line the example does not print: ${line}`).toBe(true);
      }
    }
  });
});

function sum(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0);
}
