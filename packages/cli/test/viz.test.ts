import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main, type CliIo } from '../src/index.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const SCENARIO = relative(ROOT, join(ROOT, 'packages', 'viz', 'test', 'fixtures', 'hugetlb-lru.ts'));
const CORRUPT = relative(ROOT, join(import.meta.dirname, 'fixtures', 'viz-corrupt.ts'));
const tmp = mkdtempSync(join(tmpdir(), 'mmsim-viz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function mmsim(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, cwd: ROOT };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

/** The JSON data a report embeds. */
function reportData(file: string): { cells: number; mode: string; kinds: { name: string; pages: number }[]; violations: { invariant: string; pfn: number | null }[]; timeline: { events: unknown[] } } {
  const html = readFileSync(file, 'utf8');
  const m = /<script type="application\/json" id="viz-data">(.*?)<\/script>/s.exec(html);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]!);
}

describe('mmsim viz', () => {
  it('runs a scenario and writes one self-contained HTML report', async () => {
    const out = join(tmp, 'report.html');
    const r = await mmsim(['viz', SCENARIO, '--out', out, '--debug-vm']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // The fixture records 12 folio_alloc + 8 __folio_set_swapbacked + 12 folio_add_lru + lru_add_drain + drain_all_pages.
    expect(r.stdout).toMatch(new RegExp(`^${SCENARIO.replace(/[.]/g, '\\.')}: 34 operations; wrote .*report\\.html \\(\\d+ bytes\\)\\n$`));
    const d = reportData(out);
    expect(d.mode).toBe('page');
    expect(d.cells).toBe(16384); // 64 MiB of 4 KiB pages
    expect(d.kinds.find((k) => k.name.startsWith('hugetlb active'))!.pages).toBe(512);
    expect(d.timeline.events).toHaveLength(34);
    expect(d.violations).toEqual([]);
  });

  it('a scenario that breaks an invariant still gets its report, with the violation, then fails', async () => {
    const out = join(tmp, 'corrupt.html');
    const r = await mmsim(['viz', CORRUPT, '--out', out, '--debug-vm', '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^mmsim: VM_BUG: §2 refcount: negative refcount/);
    const printed = JSON.parse(r.stdout) as { operations: number; violations: { invariant: string; pfn: number }[] };
    expect(printed.operations).toBe(2);
    const d = reportData(out);
    expect(d.violations).toHaveLength(1);
    expect(d.violations[0]!.invariant).toBe('§2 refcount');
    expect(d.violations[0]!.pfn).toBe(printed.violations[0]!.pfn);
    expect(d.timeline.events).toHaveLength(2); // folio_alloc, then the folio_alloc recorded with its bug
  });

  it('needs --out', async () => {
    const r = await mmsim(['viz', SCENARIO]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/required option '--out <file>'/);
  });
});
