import 'reflect-metadata';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GFP_HIGHUSER_MOVABLE, GFP_KERNEL, __free_pages, alloc_pages, createMachine, folio_add_lru, folio_alloc, lru_add_drain, type Pfn } from '@mm/core';
import { hugetlbPlugin } from '@mm/hugetlb';
import { renderVizReport } from '@mm/viz';
import { report, result, skipped, type BenchResult } from '../../core/bench/harness.js';

/**
 * viz_16GiB_open: milliseconds for chromium (headless, the browser the tests drive) to open a 16 GiB
 * machine's report from disk and render it — decode the arrays, draw the map, the migratetype layer,
 * the legend and the timeline — until the script sets `data-ready`. Floor: opening an HTML file of the
 * same size with nothing to decode or draw (a comment of the same length), until `load`. Goal: under
 * 3 s. Extra figures: the report's size, the time Node takes to build it, and the time the first click
 * on a block takes to decode the per-page arrays for its page view.
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

const CHROMIUM = '/usr/bin/chromium';
const results: BenchResult[] = [];
const name = 'viz_16GiB_open';
if (!skipped(name)) {
  if (!existsSync(CHROMIUM)) {
    console.error(`${name}: skipped, ${CHROMIUM} is not installed (apt-get install chromium)`);
  } else {
    // 16 GiB = 4 Mi pages: a 1 GiB hugetlb pool with half of it in use, 20000 fragmenting order-0
    // allocations of which every other one is freed again, and 4096 LRU folios.
    const m = createMachine({ memory: '16G', cpus: 4, plugins: [hugetlbPlugin({ pools: { '2M': 512 } })] });
    const held: Pfn[] = [];
    for (let i = 0; i < 20000; i++) {
      const p = alloc_pages(m, GFP_KERNEL, 0);
      if (p !== -1) held.push(p);
    }
    for (let i = 0; i < held.length; i += 2) __free_pages(m, held[i]!, 0);
    for (let i = 0; i < 4096; i++) {
      const f = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0);
      if (f !== -1) folio_add_lru(m, f);
    }
    lru_add_drain(m);
    let html = '';
    const buildMs = await medianMs(async () => void (html = await renderVizReport(m, { title: '16 GiB' })), 3);
    const dir = mkdtempSync(join(tmpdir(), 'mm-bench-viz-'));
    const file = join(dir, 'report.html');
    const empty = join(dir, 'empty.html');
    writeFileSync(file, html);
    const bytes = Buffer.byteLength(html);
    const shell = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>floor</title></head><body><!--';
    writeFileSync(empty, shell + 'x'.repeat(Math.max(0, bytes - shell.length - 18)) + '--></body></html>\n');
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
      const open = async (): Promise<void> => {
        await page.goto(pathToFileURL(file).href);
        await page.waitForSelector('body[data-ready]', { timeout: 30000 });
        if ((await page.getAttribute('body', 'data-cells')) !== String(m.memmap.nrPages / 512)) throw new Error('report did not draw every pageblock');
      };
      const floorOpen = async (): Promise<void> => {
        await page.goto(pathToFileURL(empty).href, { waitUntil: 'load' });
      };
      // The first click on a block decodes the per-page arrays (4 Mi entries each) for its page view.
      const zoomFirst = async (): Promise<void> => {
        await open();
        const box = (await page.locator('#map-wrap').boundingBox())!;
        await page.mouse.click(box.x + 4, box.y + 4);
        await page.waitForSelector('body[data-pages-ready]', { timeout: 30000 });
      };
      const ms = await medianMs(open);
      const zoomMs = (await medianMs(zoomFirst, 3)) - ms;
      const floor = await medianMs(floorOpen);
      results.push(
        result(name, ms, floor, { unit: 'ms', goalMs: 3000, reportMiB: Math.round((bytes / 2 ** 20) * 100) / 100, pages: m.memmap.nrPages, cells: m.memmap.nrPages / 512, buildMs: Math.round(buildMs), firstBlockClickMs: Math.round(zoomMs) }),
      );
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
report(results);
