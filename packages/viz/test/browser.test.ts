import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NR_PAGE_ORDERS, PG, PageReserved, folio_test_hugetlb, type Folio, type Pfn } from '@mm/core';
import { folio_test_hugetlb_freed } from '@mm/hugetlb';
import type { Browser, Page } from 'playwright-core';
import { renderVizReport } from '../src/index.js';
import { ANON, FILE, HUGE_POOL } from './fixtures/hugetlb-lru.js';
import { runFixture } from './run-fixture.js';

/**
 * The report in a real browser: Debian's chromium driven by playwright-core (headless, no sandbox,
 * no background networking). Skips, saying why, when /usr/bin/chromium is missing (`.ci/run` installs
 * it). The report and a screenshot are saved under test-artifacts/viz/ (gitignored).
 */

/** What the report's script exposes on `window` for tests. */
interface MmvizWindow {
  readonly mmviz: {
    /** Viewport coordinates of the centre of a PFN's cell. */
    cellCenter(pfn: number): { x: number; y: number };
    /** The RGB drawn for a PFN's cell. */
    pixel(pfn: number): number[];
    /** Pageblock mode: show the PFN's block and return the centre of its page there. */
    zoomCenter(pfn: number): { x: number; y: number };
  };
}

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', '..', 'test-artifacts', 'viz');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`viz browser test skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);

describe.skipIf(!haveChromium)('the report in chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** Write `html` as an artefact, open it, and wait until the script has drawn everything. */
  async function open(name: string, html: string): Promise<{ page: Page; requests: string[] }> {
    const file = join(ARTIFACTS, `${name}.html`);
    writeFileSync(file, html);
    const page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('body[data-ready]', { timeout: 20000 });
    expect(errors).toEqual([]);
    return { page, requests };
  }

  it('draws one cell per page, the legend of the owners present, and hugetlb details on hover', async () => {
    const { m, timeline } = runFixture();
    const { page, requests } = await open('hugetlb-lru', await renderVizReport(m, { timeline, title: 'viz fixture: hugetlb + LRU' }));
    expect(requests).toEqual([pathToFileURL(join(ARTIFACTS, 'hugetlb-lru.html')).href]); // nothing but the file itself

    // 64 MiB = 16384 pages of 4 KiB, one cell each.
    expect(await page.getAttribute('body', 'data-cells')).toBe('16384');
    // Legend: one entry per buddy order with free blocks (/proc/buddyinfo), hugetlb free and active,
    // LRU anon and file, and PG_reserved for the boot's memblock reservations.
    const orders = Array.from({ length: NR_PAGE_ORDERS }, (_, o) => o).filter((o) => m.zones.some((z) => z.nr_free[o]! > 0)).length;
    let reserved = 0;
    for (let p = 0; p < m.memmap.nrPages; p++) if (PageReserved(m, p as Pfn)) reserved++;
    expect(reserved).toBeGreaterThan(0);
    expect(Number(await page.getAttribute('body', 'data-legend'))).toBe(orders + 5);
    expect(await page.locator('#legend li').count()).toBe(orders + 5);
    const pagesOf = async (label: string): Promise<number> => Number(await page.locator('#legend li', { hasText: label }).getAttribute('data-pages'));
    expect(await pagesOf('hugetlb active')).toBe(512);
    expect(await pagesOf('hugetlb free')).toBe((HUGE_POOL - 1) * 512);
    expect(await pagesOf('LRU anon')).toBe(ANON);
    expect(await pagesOf('LRU file')).toBe(FILE);
    expect(await pagesOf('PG_reserved')).toBe(reserved);

    // Hover the active hugetlb folio's head, then one of its tails.
    let head = -1;
    for (let p = 0; p < m.memmap.nrPages; p += 512) if (folio_test_hugetlb(m, p as Folio) && !folio_test_hugetlb_freed(m, p as Folio)) head = p;
    const hover = async (pfn: number): Promise<string> => {
      const c = await page.evaluate((p) => (globalThis as unknown as MmvizWindow).mmviz.cellCenter(p), pfn);
      await page.mouse.move(c.x, c.y);
      return (await page.locator('#details').innerText()).replace(/\s+/g, ' ');
    };
    const hex = (n: number): string => `0x${n.toString(16)}`;
    const headText = await hover(head);
    expect(headText).toContain(`pfn ${hex(head)}`);
    expect(headText).toContain('owner: hugetlb active');
    expect(headText).toContain('page_type: hugetlb');
    expect(headText).toMatch(/flags: 0x40 \(PG_head\)/);
    expect(headText).toContain('refcount: 1, mapcount: 0');
    expect(headText).toContain('folio head, order 9 (512 pages)');
    const tailText = await hover(head + 5);
    expect(tailText).toContain('owner: hugetlb active');
    expect(tailText).toContain(`tail of folio ${hex(head)}, order 9`);
    expect(tailText).toContain('page_type: none');
    expect(tailText).toContain('refcount: 0');
    await expect.poll(() => page.locator('#tip').isVisible()).toBe(true);

    // The hugetlb cell is painted in the hugetlb-active colour.
    const rgb = await page.evaluate((p) => (globalThis as unknown as MmvizWindow).mmviz.pixel(p), head);
    expect(rgb).toEqual([0xd0, 0x20, 0x20]);

    // The migratetype layer toggles.
    expect(await page.locator('#mt-layer').isVisible()).toBe(false);
    await page.locator('#mt-toggle').check();
    expect(await page.locator('#mt-layer').isVisible()).toBe(true);
    await page.locator('#mt-toggle').uncheck();

    // Timeline: one row per recorded operation, and the buddyinfo chart has one polygon per order.
    expect(await page.locator('#events tr').count()).toBe(timeline.events.length);
    expect(await page.locator('#buddy-chart polygon').count()).toBe(NR_PAGE_ORDERS);

    const shot = join(ARTIFACTS, 'hugetlb-lru.png');
    await hover(head);
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10000);
    await page.close();
  });

  it('above the threshold: one cell per pageblock, and a clicked block shows its pages with their details', async () => {
    const { m, timeline } = runFixture();
    // The fixture's 64 MiB drawn as a large machine would be: 16384 / 512 = 32 pageblock cells.
    const { page } = await open('hugetlb-lru-pageblocks', await renderVizReport(m, { timeline, pageModeMaxPages: 1024 }));
    expect(await page.getAttribute('body', 'data-cells')).toBe('32');
    let head = -1;
    for (let p = 0; p < m.memmap.nrPages; p += 512) if (folio_test_hugetlb(m, p as Folio) && !folio_test_hugetlb_freed(m, p as Folio)) head = p;
    const c = await page.evaluate((p) => (globalThis as unknown as MmvizWindow).mmviz.cellCenter(p), head);
    await page.mouse.move(c.x, c.y);
    const block = (await page.locator('#details').innerText()).replace(/\s+/g, ' ');
    expect(block).toContain(`pageblock ${head / 512} `);
    expect(block).toContain('dominant owner: hugetlb active');
    expect(block).toContain('hugetlb active: 512');
    expect(block).not.toContain('mixed');
    await page.mouse.click(c.x, c.y);
    expect(await page.locator('#zoom').isVisible()).toBe(true);
    const z = await page.evaluate((p) => (globalThis as unknown as MmvizWindow).mmviz.zoomCenter(p), head + 33);
    await page.mouse.move(z.x, z.y);
    const text = (await page.locator('#details').innerText()).replace(/\s+/g, ' ');
    expect(text).toContain(`pfn 0x${(head + 33).toString(16)}`);
    expect(text).toContain('owner: hugetlb active');
    expect(text).toContain(`tail of folio 0x${head.toString(16)}, order 9`);
    await page.screenshot({ path: join(ARTIFACTS, 'hugetlb-lru-pageblocks.png'), fullPage: true });
    await page.close();
  });

  it('marks a deliberately corrupted page on the map', async () => {
    const { m, timeline } = runFixture();
    const victim = m.memmap.refcount.findIndex((r, p) => r === 1 && PageReserved(m, p as Pfn) === false && (m.memmap.flags[p]! & (1 << PG.lru)) !== 0);
    m.memmap.refcount[victim] = -1; // negative _refcount: breaks §2
    const { page } = await open('corrupted', await renderVizReport(m, { timeline, title: 'viz fixture: a corrupted page' }));
    const marks = page.locator('.violation-mark');
    expect(await marks.count()).toBe(1);
    expect(await marks.getAttribute('data-pfn')).toBe(String(victim));
    expect(await marks.isVisible()).toBe(true);
    expect(await page.locator('#violations').innerText()).toMatch(new RegExp(`refcount.*pfn 0x${victim.toString(16)}`));
    await page.screenshot({ path: join(ARTIFACTS, 'corrupted.png'), fullPage: true });
    await page.close();
  });
});
