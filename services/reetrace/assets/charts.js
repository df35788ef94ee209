// SVG charts of the dashboard: a line chart (observed solid, forecast dashed), grouped bars and
// a Sankey diagram. Every chart has a title, a description, labelled axes with units, and
// marks withheld (disclosure-controlled) figures as such. Plain DOM, no library.
'use strict';

(function () {
  const NS = 'http://www.w3.org/2000/svg';
  let uid = 0;

  function svg(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  // A figure of the API: {value: n}, {value: null} (undefined) or {suppressed: true}.
  const isSuppressed = (f) => Boolean(f && f.suppressed);
  const valueOf = (f) => (f && typeof f.value === 'number' ? f.value : null);

  function fmt(value, digits) {
    if (value === null || value === undefined) return '–';
    const d = digits === undefined ? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 1 ? 2 : 4) : digits;
    return Number(value).toLocaleString('en', { maximumFractionDigits: d });
  }

  function niceStep(max, target) {
    const raw = max / target;
    const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    const r = raw / magnitude;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * magnitude;
  }

  function ticks(max) {
    const top = max > 0 && isFinite(max) ? max : 1;
    const step = niceStep(top, 4);
    const values = [];
    for (let v = 0; v < top + step * 0.999; v += step) values.push(v);
    if (values.length < 2) values.push(step);
    const digits = Math.max(0, -Math.floor(Math.log10(step)));
    return { values, digits, max: values[values.length - 1] };
  }

  function frame(container, title, description, height, width = 640) {
    const id = 'c' + (++uid);
    const root = svg('svg', {
      viewBox: '0 0 ' + width + ' ' + height, class: 'chart', role: 'img',
      'aria-labelledby': id + '-t ' + id + '-d', preserveAspectRatio: 'xMidYMid meet',
    });
    root.append(svg('title', { id: id + '-t' }, title), svg('desc', { id: id + '-d' }, description));
    container.replaceChildren(root);
    return root;
  }

  // The drawing width of a chart: its container's width in CSS pixels (within bounds), so that
  // text keeps its size on a phone instead of shrinking with the whole drawing.
  const chartWidth = (container) => Math.round(Math.min(960, Math.max(340, container.clientWidth || 640)));

  // Axes of a chart over years: returns x(year) and y(value) mappings.
  function axes(root, years, yMax, yLabel, geometry) {
    const { left, right, top, bottom, height, width } = geometry;
    const t = ticks(yMax);
    const plotW = width - left - right;
    const plotH = height - top - bottom;
    const n = years.length;
    const band = plotW / Math.max(n, 1);
    const x = (i) => left + band * (i + 0.5);
    const y = (v) => top + plotH - (v / t.max) * plotH;
    for (const v of t.values) {
      root.append(svg('line', { class: 'grid', x1: left, x2: width - right, y1: y(v), y2: y(v) }));
      root.append(svg('text', { class: 'tick', x: left - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmt(v, t.digits)));
    }
    const every = Math.max(1, Math.ceil(n / Math.max(3, Math.floor(plotW / 64))));
    years.forEach((year, i) => {
      if (i % every !== 0 && i !== n - 1) return;
      root.append(svg('text', { class: 'tick', x: x(i), y: top + plotH + 18, 'text-anchor': 'middle' }, year));
    });
    root.append(svg('line', { class: 'axis', x1: left, x2: width - right, y1: top + plotH, y2: top + plotH }));
    root.append(svg('line', { class: 'axis', x1: left, x2: left, y1: top, y2: top + plotH }));
    root.append(svg('text', { class: 'axis-title', x: left + plotW / 2, y: top + plotH + 40, 'text-anchor': 'middle' }, 'Year'));
    root.append(svg('text', {
      class: 'axis-title', x: 14, y: top + plotH / 2, 'text-anchor': 'middle',
      transform: 'rotate(-90 14 ' + (top + plotH / 2) + ')',
    }, yLabel));
    return { x, y, band, baseline: top + plotH };
  }

  // Legend items from left to right, on a second row when the first is full.
  function legend(root, items, y, width = 640) {
    let x = 16;
    for (const item of items) {
      const room = 40 + item.label.length * 7;
      if (x + room > width && x > 16) { x = 16; y += 18; }
      const g = svg('g', { class: 'legend-item' });
      if (item.kind === 'line') {
        g.append(svg('line', { class: 'series ' + item.cls + (item.dashed ? ' forecast' : ''), x1: x, x2: x + 24, y1: y - 4, y2: y - 4 }));
      } else if (item.kind === 'suppressed') {
        g.append(svg('text', { class: 'suppressed-mark', x: x + 12, y: y, 'text-anchor': 'middle' }, '×'));
      } else {
        g.append(svg('rect', { class: 'bar ' + item.cls, x: x + 4, y: y - 12, width: 16, height: 12 }));
      }
      g.append(svg('text', { class: 'legend', x: x + 30, y: y }, item.label));
      root.append(g);
      x += room;
    }
  }

  function suppressedMark(root, x, baseline, label) {
    const mark = svg('text', { class: 'suppressed-mark', x, y: baseline - 4, 'text-anchor': 'middle' }, '×');
    mark.append(svg('title', {}, label + ': suppressed (disclosure control)'));
    root.append(mark);
  }

  // series: [{label, cls, points: [{year, figure, forecast}]}]; all series share the years.
  function line(container, spec) {
    const height = 320;
    const years = spec.years;
    const all = spec.series.flatMap((s) => s.points.map((p) => valueOf(p.figure))).filter((v) => v !== null);
    const width = chartWidth(container);
    const root = frame(container, spec.title, spec.description, height, width);
    const a = axes(root, years, Math.max(0, ...all), spec.yLabel, { left: 78, right: 16, top: 16, bottom: 90, height, width });
    let anySuppressed = false;
    let anyForecast = false;
    for (const s of spec.series) {
      let solid = '';
      let dashed = '';
      let previous = null;
      s.points.forEach((p, i) => {
        const v = valueOf(p.figure);
        if (isSuppressed(p.figure)) { anySuppressed = true; suppressedMark(root, a.x(i), a.baseline, s.label + ' ' + p.year); }
        if (v === null) { previous = null; return; }
        const point = a.x(i).toFixed(1) + ',' + a.y(v).toFixed(1);
        if (p.forecast) {
          anyForecast = true;
          dashed += (previous ? 'M' + previous.point + ' L' : 'M') + point + ' ';
        } else {
          solid += (previous && !previous.forecast ? 'L' : 'M') + point + ' ';
        }
        const dot = svg('circle', {
          class: 'dot ' + s.cls + (p.forecast ? ' forecast' : ''), cx: a.x(i), cy: a.y(v), r: 3,
          'data-year': p.year, 'data-value': v,
        });
        dot.append(svg('title', {}, s.label + ' ' + p.year + ': ' + fmt(v) + ' ' + spec.unit + (p.forecast ? ' (forecast)' : '')));
        root.append(dot);
        previous = { point, forecast: p.forecast };
      });
      if (solid) root.append(svg('path', { class: 'series ' + s.cls, d: solid.trim(), 'data-series': s.label }));
      if (dashed) root.append(svg('path', { class: 'series forecast ' + s.cls, d: dashed.trim(), 'data-series': s.label + ' (forecast)' }));
    }
    const items = spec.series.map((s) => ({ kind: 'line', cls: s.cls, label: s.label }));
    if (anyForecast) items.push({ kind: 'line', cls: spec.series[0].cls, dashed: true, label: 'forecast' });
    if (anySuppressed) items.push({ kind: 'suppressed', label: 'suppressed' });
    legend(root, items, height - 26, width);
  }

  // series: [{label, cls, figures: [figure per year]}].
  function bars(container, spec) {
    const height = 320;
    const years = spec.years;
    const all = spec.series.flatMap((s) => s.figures.map(valueOf)).filter((v) => v !== null);
    const width = chartWidth(container);
    const root = frame(container, spec.title, spec.description, height, width);
    const a = axes(root, years, Math.max(0, ...all), spec.yLabel, { left: 78, right: 16, top: 16, bottom: 90, height, width });
    const n = spec.series.length;
    const barW = Math.max(1, (a.band * 0.8) / n);
    let anySuppressed = false;
    years.forEach((year, i) => {
      spec.series.forEach((s, k) => {
        const figure = s.figures[i];
        const x = a.x(i) - (a.band * 0.8) / 2 + k * barW;
        if (isSuppressed(figure)) {
          anySuppressed = true;
          suppressedMark(root, x + barW / 2, a.baseline, s.label + ' ' + year);
          return;
        }
        const v = valueOf(figure);
        if (v === null) return;
        const rect = svg('rect', {
          class: 'bar ' + s.cls, x: x.toFixed(1), y: a.y(v).toFixed(1), width: barW.toFixed(1),
          height: Math.max(0, a.baseline - a.y(v)).toFixed(1), 'data-year': year, 'data-value': v,
        });
        rect.append(svg('title', {}, s.label + ' ' + year + ': ' + fmt(v) + ' ' + spec.unit));
        root.append(rect);
      });
    });
    const items = spec.series.map((s) => ({ kind: 'bar', cls: s.cls, label: s.label }));
    if (anySuppressed) items.push({ kind: 'suppressed', label: 'suppressed' });
    legend(root, items, height - 26, width);
  }

  // The drawing width under which the Sankey diagram runs top to bottom (a phone): across, its
  // stages would shrink with the drawing until the labels cannot be read.
  const SANKEY_DOWN_BELOW = 560;

  // The graph of a Sankey diagram: the nodes with their flows, each at the depth of its longest
  // path from a source, the links, and the nodes that have links grouped by depth.
  function sankeyGraph(spec) {
    const nodes = spec.nodes.map((n) => ({ id: n.id, label: n.label, in: 0, out: 0, depth: 0, links: [] }));
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const links = spec.links
      .filter((l) => byId.has(l.source) && byId.has(l.target))
      .map((l) => ({ source: byId.get(l.source), target: byId.get(l.target), value: valueOf(l), suppressed: isSuppressed(l), basis: l.basis }));
    for (const l of links) {
      if (l.value) { l.source.out += l.value; l.target.in += l.value; }
      if (l.suppressed) { l.source.outWithheld = true; l.target.inWithheld = true; }
    }
    // Longest path from the sources (the graph is acyclic; the bound guards anyway).
    for (let pass = 0; pass < nodes.length; pass++) {
      let changed = false;
      for (const l of links) {
        if (l.target.depth < l.source.depth + 1) { l.target.depth = l.source.depth + 1; changed = true; }
      }
      if (!changed) break;
    }
    const shown = nodes.filter((n) => links.some((l) => l.source === n || l.target === n));
    const byDepth = new Map();
    for (const n of shown) byDepth.set(n.depth, (byDepth.get(n.depth) || []).concat([n]));
    const maxRows = Math.max(1, ...[...byDepth.values()].map((c) => c.length));
    const totals = [...byDepth.values()].map((c) => c.reduce((s, n) => s + Math.max(n.in, n.out), 0));
    return { links, shown, byDepth, maxRows, maxTotal: Math.max(...totals, 0) };
  }

  // A ribbon from (x0, y0) to (x1, y1), bending along x (across) or y (down).
  function ribbon(root, spec, l, w, ends, down) {
    const [x0, y0, x1, y1] = ends.map((v) => v.toFixed(1));
    const d = down
      ? 'M' + x0 + ',' + y0 + ' C' + x0 + ',' + ((ends[1] + ends[3]) / 2).toFixed(1) + ' ' + x1 + ',' +
        ((ends[1] + ends[3]) / 2).toFixed(1) + ' ' + x1 + ',' + y1
      : 'M' + x0 + ',' + y0 + ' C' + ((ends[0] + ends[2]) / 2).toFixed(1) + ',' + y0 + ' ' +
        ((ends[0] + ends[2]) / 2).toFixed(1) + ',' + y1 + ' ' + x1 + ',' + y1;
    const path = svg('path', {
      class: 'link' + (l.suppressed ? ' suppressed' : '') + (l.basis === 'modelled' ? ' modelled' : ''),
      d, 'stroke-width': l.suppressed ? 2 : w.toFixed(1),
      'data-source': l.source.id, 'data-target': l.target.id,
    });
    if (!l.suppressed && l.value !== null) path.setAttribute('data-value', l.value);
    path.append(svg('title', {}, l.source.label + ' → ' + l.target.label + ': ' +
      (l.suppressed ? 'suppressed (disclosure control)' : fmt(l.value) + ' ' + spec.unit) + ' (' + l.basis + ')'));
    root.append(path);
  }

  // A node's mass is the sum of the links on one side, known only when none of them is
  // withheld; otherwise it says so (never a partial sum, never 0 kg).
  function nodeValue(n, links, spec, x, dy) {
    const known = [];
    if (links.some((l) => l.target === n) && !n.inWithheld) known.push(n.in);
    if (links.some((l) => l.source === n) && !n.outWithheld) known.push(n.out);
    return known.length
      ? svg('tspan', { class: 'node-value', x, dy }, fmt(Math.max(...known)) + ' ' + spec.unit)
      : svg('tspan', { class: 'node-value suppressed-word', x, dy }, 'suppressed');
  }

  function sankeyEmpty(root, g, width, height) {
    if (g.shown.length === 0) {
      root.append(svg('text', { class: 'empty', x: width / 2, y: height / 2, 'text-anchor': 'middle' }, 'No flows for these filters.'));
    }
  }

  // A Sankey diagram: nodes in columns by their longest path from a source, links as ribbons
  // whose width is the flow. Withheld links are drawn as thin dotted lines. On a narrow drawing
  // area the stages run top to bottom instead (`sankeyDown`).
  function sankey(container, spec) {
    const g = sankeyGraph(spec);
    if (container.clientWidth > 0 && container.clientWidth < SANKEY_DOWN_BELOW) return sankeyDown(container, spec, g);
    const { links, shown } = g;
    const columns = Math.max(1, ...shown.map((n) => n.depth + 1));
    const width = 960;
    const nodeW = 10;
    const top = 12;
    const maxRows = g.maxRows;
    // Room between stacked nodes for the label under each (up to three lines).
    const gap = 52;
    const height = Math.max(300, 140 + maxRows * 72);
    const plotH = height - top - 64;
    const ky = g.maxTotal > 0 ? (plotH - gap * (maxRows - 1)) / g.maxTotal : 0;
    const colX = (d) => 8 + (columns === 1 ? 0 : (d * (width - 120 - nodeW)) / (columns - 1));
    for (const [depth, column] of g.byDepth) {
      let y = top;
      for (const n of column) {
        n.x = colX(depth);
        n.y = y;
        n.h = Math.max(3, Math.max(n.in, n.out) * ky);
        n.outOffset = 0;
        n.inOffset = 0;
        y += n.h + gap;
      }
    }
    const root = frame(container, spec.title, spec.description, height, width);
    for (const l of links) {
      const w = l.value ? Math.max(1, l.value * ky) : 0;
      const ends = [l.source.x + nodeW, l.source.y + l.source.outOffset + w / 2, l.target.x, l.target.y + l.target.inOffset + w / 2];
      l.source.outOffset += w;
      l.target.inOffset += w;
      ribbon(root, spec, l, w, ends, false);
    }
    // Labels sit under their node (two lines at most), on a white halo over the ribbons.
    for (const n of shown) {
      root.append(svg('rect', { class: 'node', x: n.x, y: n.y, width: nodeW, height: n.h, 'data-node': n.id }));
      const words = n.label.split(' ');
      const lines = words.length > 1 && n.label.length > 12
        ? [words.slice(0, Math.ceil(words.length / 2)).join(' '), words.slice(Math.ceil(words.length / 2)).join(' ')]
        : [n.label];
      const text = svg('text', { class: 'node-label', x: n.x, y: n.y + n.h + 14 });
      lines.forEach((line, i) => text.append(svg('tspan', { x: n.x, dy: i === 0 ? 0 : 14 }, line)));
      text.append(nodeValue(n, links, spec, n.x, 14));
      root.append(text);
    }
    root.append(svg('text', { class: 'axis-title', x: width / 2, y: height - 8, 'text-anchor': 'middle' },
      'Ribbon width: mass of rare-earth element (' + spec.unit + ')'));
    if (links.some((l) => l.suppressed)) legend(root, [{ kind: 'suppressed', label: 'dotted: suppressed flow' }], height - 28, width);
    sankeyEmpty(root, g, width, height);
  }

  // The Sankey diagram top to bottom, drawn at the container's own width so that text keeps its
  // size: a row per depth, its nodes as bars side by side whose width is the flow, ribbons
  // flowing down. Each node's label and mass take lines of their own under its row, so labels
  // never share a line; a label starts under its node, moved left as far as it must to fit.
  function sankeyDown(container, spec, g) {
    const { links, shown } = g;
    const width = Math.round(Math.max(280, container.clientWidth));
    const side = 8;
    const nodeH = 10;
    const line = 15;
    const gapX = 24;
    const fall = 40;
    const kx = g.maxTotal > 0 ? (width - 2 * side - gapX * (g.maxRows - 1)) / g.maxTotal : 0;
    const rows = [...g.byDepth.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
    let y = 8;
    const labelTops = [];
    for (const row of rows) {
      for (const n of row) {
        n.w = Math.max(3, Math.max(n.in, n.out) * kx);
        n.outOffset = 0;
        n.inOffset = 0;
      }
      // Each row centred, so that a chain of single stages falls straight down.
      let x = (width - row.reduce((s, n) => s + n.w, 0) - gapX * (row.length - 1)) / 2;
      for (const n of row) {
        n.x = x;
        n.y = y;
        x += n.w + gapX;
      }
      labelTops.push(y + nodeH + line);
      y += nodeH + 6 + row.length * 2 * line + fall;
    }
    const withheld = links.some((l) => l.suppressed);
    const height = Math.max(160, y + (withheld ? 58 : 36));
    const root = frame(container, spec.title, spec.description, height, width);
    for (const l of links) {
      const w = l.value ? Math.max(1, l.value * kx) : 0;
      const ends = [l.source.x + l.source.outOffset + w / 2, l.source.y + nodeH, l.target.x + l.target.inOffset + w / 2, l.target.y];
      l.source.outOffset += w;
      l.target.inOffset += w;
      ribbon(root, spec, l, w, ends, true);
    }
    for (const n of shown) root.append(svg('rect', { class: 'node', x: n.x, y: n.y, width: n.w, height: nodeH, 'data-node': n.id }));
    rows.forEach((row, r) => row.forEach((n, i) => {
      const text = svg('text', { class: 'node-label', x: n.x, y: labelTops[r] + i * 2 * line });
      text.append(svg('tspan', { x: n.x, dy: 0 }, n.label), nodeValue(n, links, spec, n.x, line));
      root.append(text);
      // Measured where the page lays the drawing out; estimated where it does not (hidden).
      const measured = text.getBBox().width;
      const textW = measured > 0 ? measured : 8 * Math.max(n.label.length, 12);
      const x = Math.max(side, Math.min(n.x, width - side - textW)).toFixed(1);
      for (const node of [text, ...text.children]) node.setAttribute('x', x);
    }));
    const title = svg('text', { class: 'axis-title', x: width / 2, y: height - 24, 'text-anchor': 'middle' });
    title.append(svg('tspan', { x: width / 2, dy: 0 }, 'Ribbon width: mass of'),
      svg('tspan', { x: width / 2, dy: line }, 'rare-earth element (' + spec.unit + ')'));
    root.append(title);
    if (withheld) legend(root, [{ kind: 'suppressed', label: 'dotted: suppressed flow' }], height - 44, width);
    sankeyEmpty(root, g, width, height);
  }

  window.ReeCharts = { line, bars, sankey, fmt, isSuppressed, valueOf };
})();
