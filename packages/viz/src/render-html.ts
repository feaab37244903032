import type { ReportData } from './report-data.js';
import { CLIENT_SCRIPT } from './client-script.js';

/**
 * The report's HTML: one self-contained file (inline CSS, script and data; no network).
 *
 * @module
 */

const CSS = `
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #222; background: #fafafa; }
h1 { font-size: 18px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 18px 0 6px; }
.layout { display: flex; gap: 16px; align-items: flex-start; }
#map-wrap { position: relative; border: 1px solid #999; background: #fff; flex: none; }
#map-wrap canvas { position: absolute; left: 0; top: 0; image-rendering: pixelated; }
#zoom { image-rendering: pixelated; border: 1px solid #999; cursor: crosshair; }
.violation-mark { position: absolute; box-sizing: border-box; border: 3px solid #ff0000; border-radius: 50%; box-shadow: 0 0 0 2px #fff; pointer-events: none; }
#side { min-width: 300px; max-width: 420px; }
#details { background: #fff; border: 1px solid #ccc; padding: 8px; min-height: 120px; font-family: ui-monospace, monospace; font-size: 12px; }
ul.legend { list-style: none; padding: 0; margin: 0; } ul.legend li { margin: 2px 0; }
.sw { display: inline-block; width: 12px; height: 12px; border: 1px solid #555; margin-right: 6px; vertical-align: -2px; }
.n { color: #666; }
#violations li { color: #c00; } #violations li.ok { color: #080; }
#tip { position: fixed; display: none; background: #ffffe8; border: 1px solid #888; padding: 6px; font: 12px ui-monospace, monospace; pointer-events: none; z-index: 10; max-width: 460px; }
#buddy-chart { width: 900px; height: 160px; background: #fff; border: 1px solid #ccc; }
table { border-collapse: collapse; font: 12px ui-monospace, monospace; } td { padding: 1px 6px; border-bottom: 1px solid #eee; }
tr.err td { color: #a60; } tr.bug td { color: #c00; font-weight: bold; }
#events-wrap { max-height: 320px; overflow: auto; border: 1px solid #ccc; background: #fff; }
`;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The report's HTML text for `data`. */
export function renderHtml(data: ReportData): string {
  // `<` is escaped so that no `</script>` can end the data element early.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  const unit = data.mode === 'page' ? 'one cell per page' : `one cell per pageblock (${data.cellPages} pages; a checkerboard shows a mixed block; click a block for its pages)`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src blob: data:">
<title>${escapeHtml(data.title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(data.title)}</h1>
<div>${escapeHtml(data.machine)}</div>
<h2>PFN map <span class="n">(${unit}, PFN 0 top left, rows of ${data.cols} cells)</span></h2>
<label><input type="checkbox" id="mt-toggle"> pageblock migratetype layer</label>
<div class="layout">
<div id="map-wrap"><canvas id="map"></canvas><canvas id="mt-layer"></canvas></div>
<div id="side">
<div id="details">hover over the map</div>
<div id="zoom-wrap" style="display:none"><h2 id="zoom-title"></h2><canvas id="zoom"></canvas></div>
<h2>Owners</h2><ul class="legend" id="legend"></ul>
<h2>Migratetypes</h2><ul class="legend" id="mt-legend"></ul>
<h2>Invariant violations</h2><ul id="violations"></ul>
</div>
</div>
<h2>Timeline</h2>
<div id="chart-note" class="n"></div>
<svg id="buddy-chart" xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="none"></svg>
<div id="events-note" class="n"></div>
<div id="events-wrap"><table><thead><tr><td>#</td><td>operation</td><td>args</td><td>result</td><td>tracepoints</td></tr></thead><tbody id="events"></tbody></table></div>
<div id="tip"></div>
<script type="application/json" id="viz-data">${json}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}
