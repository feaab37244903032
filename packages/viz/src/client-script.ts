/**
 * The report's script, run by the browser (no modules, no network): it decodes the embedded arrays
 * (`DecompressionStream('gzip')`; in pageblock mode the per-page arrays only when a block is
 * first clicked), draws the map on a `<canvas>` (one pixel per cell, or 2×2 per
 * pageblock with a checkerboard of the two largest owners when the block is mixed), the migratetype
 * layer, the violation marks, the legend, hover details and the timeline. When done it sets
 * `data-ready`, `data-cells` (cells drawn) and `data-legend` (legend entries) on `<body>` and exposes
 * `window.mmviz` (`cellCenter(pfn)`: viewport coordinates of a PFN's cell; `pixel(pfn)`: the RGB drawn
 * there; `zoomCenter(pfn)`: pageblock mode, show the PFN's block and resolve to the coordinates of
 * its page there; `describe(pfn)`: a page's details; `data`) for tests.
 *
 * @module
 */

/** The script's source, inlined into the report's `<script>` element. */
export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('viz-data').textContent);
  var MT_COLORS = ['#e05050', '#50a0e0', '#e0c050', '#c050e0', '#50e0a0', '#000000'];
  function b64(s) {
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function gunzip(s) {
    var stream = new Blob([b64(s)]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Response(stream).arrayBuffer();
  }
  function rgb(hex) {
    var v = parseInt(hex.slice(1), 16);
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  }
  function hex(v) { return '0x' + (v >>> 0).toString(16); }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }
  var ctor = { owner: Uint8Array, flags: Uint32Array, refcount: Int32Array, mapcount: Int32Array, headDelta: Int32Array,
    pageblock: Uint8Array, blockOwner: Uint8Array, blockSecond: Uint8Array, blockMix: Uint8Array, blockCounts: Uint16Array };
  var A = {};
  function decode(names) {
    return Promise.all(names.map(function (k) { return gunzip(D.arrays[k]); })).then(function (bufs) {
      names.forEach(function (k, i) { A[k] = new ctor[k](bufs[i]); });
    });
  }
  // Per-page arrays: needed to draw in page mode; in pageblock mode only for a block's page view, so
  // they are decoded when the first block is clicked (a 16 GiB machine's take about a second).
  var PAGE_ARRAYS = ['owner', 'flags', 'refcount', 'mapcount', 'headDelta'];
  var pagesReady = null;
  function loadPages() {
    if (pagesReady === null) {
      pagesReady = decode(PAGE_ARRAYS).then(function () { document.body.dataset.pagesReady = '1'; });
    }
    return pagesReady;
  }
  var first = D.mode === 'pageblock' ? Object.keys(D.arrays).filter(function (k) { return PAGE_ARRAYS.indexOf(k) < 0; }) : Object.keys(D.arrays);
  decode(first).then(function () {
    if (D.mode === 'page') { pagesReady = Promise.resolve(); document.body.dataset.pagesReady = '1'; }
    draw(A);
  }).catch(function (e) {
    document.body.dataset.error = String(e);
    document.getElementById('details').textContent = 'cannot decode the report: ' + e;
  });

  function draw(A) {
    var cells = D.cells, cols = D.cols, rows = Math.ceil(cells / cols), block = D.mode === 'pageblock';
    var px = block ? 2 : 1;
    var scale = Math.max(1, Math.floor(1024 / cols));
    var kinds = D.kinds, nk = kinds.length;
    var colors = kinds.map(function (k) { return rgb(k.color); });
    var map = document.getElementById('map'), layer = document.getElementById('mt-layer');
    var wrap = document.getElementById('map-wrap');
    var details = document.getElementById('details'), tip = document.getElementById('tip');
    [map, layer].forEach(function (c) {
      c.width = cols * px; c.height = rows * px;
      c.style.width = cols * scale + 'px'; c.style.height = rows * scale + 'px';
    });
    wrap.style.width = cols * scale + 'px'; wrap.style.height = rows * scale + 'px';
    var ctx = map.getContext('2d'), img = ctx.createImageData(map.width, map.height), d = img.data;
    var lctx = layer.getContext('2d'), limg = lctx.createImageData(layer.width, layer.height), ld = limg.data;
    var mtColors = MT_COLORS.map(rgb);
    var W = map.width, drawn = 0;
    // Migratetype of the pageblock holding PFN p (get_pfnblock_migratetype: isolate bit first).
    function mtOfPfn(p) {
      var b = A.pageblock[Math.floor(p / 512)];
      return (b & 16) ? 5 : (b & 7);
    }
    var cellOwner = block ? A.blockOwner : A.owner;
    for (var c = 0; c < cells; c++) {
      var x = (c % cols) * px, y = Math.floor(c / cols) * px;
      var main = colors[cellOwner[c]];
      var mt = mtColors[mtOfPfn(c * D.cellPages)] || mtColors[0];
      for (var dy = 0; dy < px; dy++) for (var dx = 0; dx < px; dx++) {
        var col = block && A.blockMix[c] > 0 && ((dx + dy) & 1) ? colors[A.blockSecond[c]] : main;
        var o = ((y + dy) * W + x + dx) * 4;
        d[o] = col[0]; d[o + 1] = col[1]; d[o + 2] = col[2]; d[o + 3] = 255;
        ld[o] = mt[0]; ld[o + 1] = mt[1]; ld[o + 2] = mt[2]; ld[o + 3] = 150;
      }
      drawn++;
    }
    ctx.putImageData(img, 0, 0);
    lctx.putImageData(limg, 0, 0);
    var toggle = document.getElementById('mt-toggle');
    layer.style.display = toggle.checked ? 'block' : 'none';
    toggle.addEventListener('change', function () { layer.style.display = toggle.checked ? 'block' : 'none'; });

    function cellOf(pfn) { return Math.floor(pfn / D.cellPages); }
    function cellCenter(pfn) {
      var c = cellOf(pfn), r = wrap.getBoundingClientRect();
      return { x: r.left + (c % cols + 0.5) * scale, y: r.top + (Math.floor(c / cols) + 0.5) * scale };
    }

    // Violations.
    var vlist = document.getElementById('violations');
    D.violations.forEach(function (v) {
      var li = document.createElement('li');
      li.textContent = v.invariant + ': ' + v.message + (v.pfn === null ? '' : ' (pfn ' + hex(v.pfn) + ')');
      vlist.appendChild(li);
      if (v.pfn === null || v.pfn >= D.nrPages) return;
      var c = cellOf(v.pfn), mark = document.createElement('div');
      mark.className = 'violation-mark';
      mark.dataset.pfn = String(v.pfn);
      mark.title = v.invariant + ': ' + v.message;
      var size = Math.max(10, scale * 2);
      mark.style.left = ((c % cols + 0.5) * scale - size / 2) + 'px';
      mark.style.top = ((Math.floor(c / cols) + 0.5) * scale - size / 2) + 'px';
      mark.style.width = mark.style.height = size + 'px';
      wrap.appendChild(mark);
    });
    if (D.violations.length === 0) vlist.innerHTML = '<li class="ok">the invariant checker found none</li>';

    // Legend: the kinds that have pages.
    var legend = document.getElementById('legend'), entries = 0;
    kinds.forEach(function (k, i) {
      if (k.pages === 0) return;
      var li = document.createElement('li');
      li.dataset.kind = String(i);
      li.dataset.pages = String(k.pages);
      li.innerHTML = '<span class="sw" style="background:' + k.color + '"></span>' + esc(k.name) + ' <span class="n">' + k.pages + ' pages</span>';
      legend.appendChild(li);
      entries++;
    });
    var mtl = document.getElementById('mt-legend');
    D.tables.migratetypes.forEach(function (n, i) {
      var li = document.createElement('li');
      li.innerHTML = '<span class="sw" style="background:' + MT_COLORS[i] + '"></span>' + esc(n);
      mtl.appendChild(li);
    });

    // Hover details, in kernel terms.
    function flagNames(f) {
      var out = [];
      for (var b = 0; b < 24; b++) if ((f >>> b) & 1 && D.tables.pg[b]) out.push('PG_' + D.tables.pg[b]);
      return out.join('|') || 'none';
    }
    // One struct page, as dump_page() would describe it.
    function describePage(p) {
      var f = A.flags[p], top = f >>> 24, v = A.mapcount[p], typed = v < -16777216;
      var h = p - A.headDelta[p], ord = (A.flags[h] & 64) && h + 1 < D.nrPages ? A.flags[h + 1] & 255 : 0;
      var lines = ['<b>pfn ' + hex(p) + '</b> (' + p + ')', 'owner: <b>' + esc(kinds[A.owner[p]].name) + '</b>'];
      lines.push(top === 255 ? 'no struct page' : 'node ' + (top >>> 3) + ', zone ' + D.tables.zones[top & 7] + ', migratetype ' + D.tables.migratetypes[mtOfPfn(p)]);
      lines.push('flags: ' + hex(f & 0xffffff) + ' (' + flagNames(f) + ')');
      lines.push('page_type: ' + (typed ? (D.tables.pgty[v >>> 24] || hex(v >>> 24)) : 'none'));
      lines.push('refcount: ' + A.refcount[p] + ', mapcount: ' + (typed ? 0 : v + 1));
      if (ord > 0) lines.push(h === p ? 'folio head, order ' + ord + ' (' + (1 << ord) + ' pages)' : 'tail of folio ' + hex(h) + ', order ' + ord);
      else lines.push('folio: order 0');
      return lines.join('<br>');
    }
    // One pageblock: its owners and migratetype.
    function describeBlock(c) {
      var p = c * 512, parts = [];
      for (var k = 0; k < nk; k++) { var cnt = A.blockCounts[c * nk + k]; if (cnt) parts.push(esc(kinds[k].name) + ': ' + cnt); }
      return ['<b>pageblock ' + c + '</b> pfn ' + hex(p) + '–' + hex(Math.min(D.nrPages, p + 512) - 1),
        'migratetype ' + D.tables.migratetypes[mtOfPfn(p)],
        'dominant owner: <b>' + esc(kinds[A.blockOwner[c]].name) + '</b>' + (A.blockMix[c] ? ' (mixed: ' + Math.round(A.blockMix[c] / 2.55) + '% other)' : ''),
        'pages: ' + parts.join(', '), '<i>click to show its pages</i>'].join('<br>');
    }
    function describeCell(c) { return block ? describeBlock(c) : describePage(c); }
    wrap.addEventListener('mousemove', function (ev) {
      var r = wrap.getBoundingClientRect();
      var cx = Math.floor((ev.clientX - r.left) / scale), cy = Math.floor((ev.clientY - r.top) / scale);
      var c = cy * cols + cx;
      if (cx < 0 || cx >= cols || c < 0 || c >= cells) { tip.style.display = 'none'; return; }
      var html = describeCell(c);
      details.innerHTML = html;
      details.dataset.cell = String(c);
      tip.innerHTML = html;
      tip.style.display = 'block';
      tip.style.left = (ev.clientX + 14) + 'px';
      tip.style.top = (ev.clientY + 14) + 'px';
    });
    wrap.addEventListener('mouseleave', function () { tip.style.display = 'none'; });

    // Pageblock mode: a click shows the block's 512 pages (32 x 16), each with its own details.
    var zoom = document.getElementById('zoom'), ZC = 32, ZS = 12, zoomBlock = -1;
    function showBlock(c) {
      if (pagesReady === null) document.getElementById('zoom-title').textContent = 'decoding the pages…';
      document.getElementById('zoom-wrap').style.display = 'block';
      return loadPages().then(function () { drawBlock(c); });
    }
    function drawBlock(c) {
      zoomBlock = c;
      zoom.width = ZC; zoom.height = 512 / ZC;
      zoom.style.width = ZC * ZS + 'px'; zoom.style.height = (512 / ZC) * ZS + 'px';
      var zc = zoom.getContext('2d'), zi = zc.createImageData(ZC, 512 / ZC);
      for (var i = 0; i < 512; i++) {
        var p = c * 512 + i, col = p < D.nrPages ? colors[A.owner[p]] : [255, 255, 255];
        zi.data[i * 4] = col[0]; zi.data[i * 4 + 1] = col[1]; zi.data[i * 4 + 2] = col[2]; zi.data[i * 4 + 3] = 255;
      }
      zc.putImageData(zi, 0, 0);
      document.getElementById('zoom-wrap').style.display = 'block';
      document.getElementById('zoom-title').textContent = 'pageblock ' + c + ': pfn ' + hex(c * 512) + '–' + hex(c * 512 + 511);
    }
    function zoomPfn(ev) {
      var r = zoom.getBoundingClientRect();
      var i = Math.floor((ev.clientY - r.top) / ZS) * ZC + Math.floor((ev.clientX - r.left) / ZS);
      return zoomBlock * 512 + i;
    }
    if (block) {
      wrap.addEventListener('click', function (ev) {
        var r = wrap.getBoundingClientRect();
        var c = Math.floor((ev.clientY - r.top) / scale) * cols + Math.floor((ev.clientX - r.left) / scale);
        if (c >= 0 && c < cells) showBlock(c);
      });
      zoom.addEventListener('mousemove', function (ev) {
        var p = zoomPfn(ev);
        if (zoomBlock >= 0 && p < D.nrPages) { details.innerHTML = describePage(p); details.dataset.pfn = String(p); }
      });
    }
    function zoomCenter(pfn) {
      return showBlock(Math.floor(pfn / 512)).then(function () {
        var r = zoom.getBoundingClientRect(), i = pfn % 512;
        return { x: r.left + (i % ZC + 0.5) * ZS, y: r.top + (Math.floor(i / ZC) + 0.5) * ZS };
      });
    }

    timeline();
    document.body.dataset.cells = String(drawn);
    document.body.dataset.legend = String(entries);
    document.body.dataset.ready = '1';
    function pixel(pfn) {
      var c = cellOf(pfn);
      return Array.from(ctx.getImageData((c % cols) * px, Math.floor(c / cols) * px, 1, 1).data.slice(0, 3));
    }
    window.mmviz = { cellCenter: cellCenter, zoomCenter: zoomCenter, pixel: pixel, describe: describePage, data: D };
  }

  function timeline() {
    var T = D.timeline, bi = T.buddyinfo, svg = document.getElementById('buddy-chart');
    var NS = 'http://www.w3.org/2000/svg', Wd = 900, Ht = 160;
    if (bi.length < 2) {
      svg.style.display = 'none';
    } else {
      var step = Math.max(1, Math.ceil(bi.length / 900)), pts = [];
      for (var i = 0; i < bi.length; i += step) pts.push(i);
      if (pts[pts.length - 1] !== bi.length - 1) pts.push(bi.length - 1);
      var totals = pts.map(function (i) { return bi[i].reduce(function (s, n, o) { return s + n * Math.pow(2, o); }, 0); });
      var max = Math.max.apply(null, totals) || 1, base = pts.map(function () { return 0; });
      for (var o = 0; o < bi[0].length; o++) {
        var top = pts.map(function (i, j) { return base[j] + bi[i][o] * Math.pow(2, o); });
        var X = function (j) { return (pts[j] / (bi.length - 1)) * Wd; };
        var Y = function (v) { return Ht - (v / max) * Ht; };
        var d = pts.map(function (_, j) { return X(j).toFixed(1) + ',' + Y(top[j]).toFixed(1); });
        for (var j = pts.length - 1; j >= 0; j--) d.push(X(j).toFixed(1) + ',' + Y(base[j]).toFixed(1));
        var poly = document.createElementNS(NS, 'polygon');
        poly.setAttribute('points', d.join(' '));
        poly.setAttribute('fill', D.kinds[1 + o].color);
        var t = document.createElementNS(NS, 'title');
        t.textContent = 'free pages in order-' + o + ' blocks';
        poly.appendChild(t);
        svg.appendChild(poly);
        base = top;
      }
      svg.setAttribute('viewBox', '0 0 ' + Wd + ' ' + Ht);
      document.getElementById('chart-note').textContent = 'free pages by block order (stacked, order 0 at the bottom; y max ' + max + ' pages) over ' + (bi.length - 1) + ' operations';
    }
    var body = document.getElementById('events'), show = Math.min(T.events.length, 2000), rows = [];
    for (var e = 0; e < show; e++) {
      var ev = T.events[e], tps = [];
      for (var k = 0; k < T.tracepoints.length; k++) if (ev[4 + k]) tps.push(T.tracepoints[k] + '×' + ev[4 + k]);
      rows.push('<tr class="' + ev[2] + '"><td>' + (e + 1) + '</td><td>' + esc(ev[0]) + '</td><td>' + esc(ev[1]) + '</td><td>' + esc(ev[2] === 'ret' ? ev[3] : ev[2] + ' ' + ev[3]) + '</td><td>' + esc(tps.join(' ')) + '</td></tr>');
    }
    body.innerHTML = rows.join('');
    var more = T.events.length - show + T.dropped;
    document.getElementById('events-note').textContent = T.events.length + T.dropped === 0 ? 'no operations were recorded' : (T.events.length + T.dropped) + ' operations' + (more > 0 ? ' (' + more + ' not listed)' : '');
  }
})();
`;
