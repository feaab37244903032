/**
 * `@mm/viz`: a memory map of a simulated machine that people can look at — one self-contained HTML
 * file (no network) with the PFN map coloured by owner (buddy free blocks by order, per-CPU lists, LRU
 * anon/file, hugetlb free/active, ZONE_DEVICE by memory type, guest_memfd shared/private, balloon,
 * zsmalloc, reserved), a pageblock migratetype layer, hover details in kernel terms, a timeline of the
 * recorded operations with `/proc/buddyinfo` over time, and invariant violations marked on the map.
 * `mmsim viz <scenario> --out report.html` writes one.
 *
 * Owners are recognised from the memmap words and page types with the core's helpers, and from each
 * owner package's public state through a {@link PageOwnerDescriber} (builtin for this repository's
 * owner packages; a third-party plugin registers its own under the DI token).
 *
 * @packageDocumentation
 */

export { CORE_KIND, CORE_KINDS, type PageOwnerKind } from './owner-kind.js';
export { PageOwnerDescriber } from './page-owner-describer.js';
export { pageOwnerDescribers } from './owners/page-owner-describers.js';
export { classifyPages, type PageOwnerMap } from './classify-pages.js';
export { VizRecorder, VIZ_TRACEPOINTS, type VizEvent, type VizTimeline } from './viz-recorder.js';
export { findViolations, vizViolation, type VizViolation } from './violations.js';
export { buildReportData, PAGE_MODE_MAX_PAGES, type ReportData, type ReportDataOptions, type ReportKind } from './report-data.js';
export { renderHtml } from './render-html.js';
export { renderVizReport, type VizReportOptions } from './render-viz-report.js';
