import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Run an example as the README shows it (tsx from source) and return its stdout. */
function runExample(name: string): string {
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
});
