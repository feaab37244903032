import type { Machine } from '@mm/core';
import { pageOwnerDescribers } from './owners/page-owner-describers.js';
import { buildReportData, type ReportDataOptions } from './report-data.js';
import { renderHtml } from './render-html.js';
import { findViolations, type VizViolation } from './violations.js';

/** Options of {@link renderVizReport}. */
export interface VizReportOptions extends Omit<ReportDataOptions, 'describers'> {
  /** Run the invariant checker and mark what it finds (default true). */
  readonly checkInvariants?: boolean;
}

/**
 * A memory map of `m` as one self-contained HTML file: the PFN map coloured by owner (with the
 * builtin describers of its owner plugins and those its plugins registered), the pageblock
 * migratetype layer, hover details, the timeline (`options.timeline`, from a {@link VizRecorder}),
 * and the invariant violations (`options.violations`, plus what the checker finds now). Reads the
 * machine only.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { mkdtempSync, writeFileSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import { createMachine } from '@mm/core';
 * import { hugetlbPlugin } from '@mm/hugetlb';
 * import { renderVizReport } from '@mm/viz';
 *
 * const m = createMachine({ memory: '64M', plugins: [hugetlbPlugin({ pools: { '2M': 4 } })] });
 * const file = join(mkdtempSync(join(tmpdir(), 'mm-')), 'report.html');
 * writeFileSync(file, await renderVizReport(m, { title: 'a 64 MiB machine with a hugetlb pool' }));
 * console.log(`open ${file} in a browser`);
 * ```
 */
export async function renderVizReport(m: Machine, options: VizReportOptions = {}): Promise<string> {
  const describers = await pageOwnerDescribers(m);
  const violations: VizViolation[] = [...(options.violations ?? [])];
  if (options.checkInvariants ?? true) {
    for (const v of findViolations(m)) {
      if (!violations.some((w) => w.invariant === v.invariant && w.pfn === v.pfn)) violations.push(v);
    }
  }
  return renderHtml(buildReportData(m, { ...options, describers, violations }));
}
