// The dashboard's two secondary resources side by side: the residue deposits on a map
// (/api/v1/deposits.geojson, open data) over the countries shaded by the rare earths in their
// deposits, with the urban mine's stock in use as circles beside them, and a chart per element
// of the urban mine (stock in use, end of life) beside the deposits' content with its
// uncertainty (/api/v1/stock/secondary-resources). Figures are shown as the API answers them:
// withheld ones say "suppressed", never 0. Called by dashboard.js on each refresh, with its
// API caller (the key it holds) and filters.
'use strict';

(function () {
  const C = window.ReeCharts;
  const M = window.ReeMap;
  const NS = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);
  let last = null;
  let generation = 0;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  // A table cell for a figure: its value, "suppressed", or "–" (undefined).
  function cell(figure) {
    if (C.isSuppressed(figure)) return el('td', { class: 'num suppressed', 'data-suppressed': 'true' }, 'suppressed');
    const v = C.valueOf(figure);
    if (v === null) return el('td', { class: 'num undefined' }, '–');
    return el('td', { class: 'num', 'data-value': v }, C.fmt(v));
  }

  const words = (s) => String(s).replace(/_/g, ' ');
  const say = (figure) => (C.isSuppressed(figure) ? 'suppressed' : C.valueOf(figure) === null ? 'not modelled' : C.fmt(C.valueOf(figure)) + ' kg');

  // The rare earths as the element filter lists them (Sc, Y and the lanthanides).
  const rareEarths = () => [...document.querySelectorAll('#f-element optgroup[label="Rare earths"] option')].map((o) => o.value);

  // The sum of figures: withheld when any is, undefined when none has a value.
  function sum(figures) {
    if (figures.some(C.isSuppressed)) return { suppressed: true };
    const values = figures.map(C.valueOf).filter((v) => v !== null);
    return { value: values.length ? values.reduce((s, v) => s + v, 0) : null };
  }

  // Per country, what the map shows: the chosen element's row, or with "all rare-earth
  // elements" the sum of the rare earths' rows (their uncertainties are not combined: the
  // elements of one deposit share its tonnage's error).
  function countryTotals(answer, element) {
    const ree = new Set(rareEarths());
    const byCountry = new Map();
    for (const r of answer.rows) {
      if (element ? r.element !== element : !ree.has(r.element)) continue;
      byCountry.set(r.country, (byCountry.get(r.country) || []).concat([r]));
    }
    return new Map([...byCountry].map(([country, rows]) => [country, {
      country,
      stock_in_use: sum(rows.map((r) => r.stock_in_use)),
      end_of_life: sum(rows.map((r) => r.end_of_life)),
      in_deposits: rows.length === 1 ? rows[0].in_deposits : { value: rows.reduce((s, r) => s + r.in_deposits.value, 0) },
      by_deposit: rows.length === 1 ? rows[0].by_deposit || [] : [],
    }]));
  }

  // Classes of the deposits' content by decade (kg), at most five, the lowest open below.
  function classes(values) {
    const positive = values.filter((v) => v > 0);
    if (!positive.length) return { of: () => 'none', legend: [] };
    const hi = Math.max(Math.ceil(Math.log10(Math.max(...positive))), Math.floor(Math.log10(Math.min(...positive))) + 1);
    const lo = Math.max(Math.floor(Math.log10(Math.min(...positive))), hi - 5);
    const n = hi - lo;
    const of = (v) => (v > 0 ? 'q' + (Math.min(n - 1, Math.max(0, Math.floor(Math.log10(v)) - lo)) + 1) : 'none');
    const open = Math.min(...positive) < Math.pow(10, lo);
    const legend = [];
    for (let k = 0; k < n; k++) {
      const [from, to] = [Math.pow(10, lo + k), Math.pow(10, lo + k + 1)];
      legend.push(['q' + (k + 1), (k === 0 && open ? 'under ' + C.fmt(to) : C.fmt(from) + ' to ' + C.fmt(to)) + ' kg']);
    }
    return { of, legend };
  }

  const SHAPES = { active: 'circle', closed: 'square', abandoned: 'diamond' };

  // The content of a deposit's feature for the element (or the rare earths summed).
  function contentOf(feature, element) {
    const lines = feature.properties.content || [];
    if (element) {
      const line = lines.find((c) => c.element === element);
      return line ? { value: line.content_kg, uncertainty: line.content_uncertainty_kg } : null;
    }
    const ree = new Set(rareEarths());
    const mine = lines.filter((c) => ree.has(c.element));
    return mine.length ? { value: mine.reduce((s, c) => s + c.content_kg, 0) } : null;
  }

  function swatch(cls, shape) {
    const s = svg('svg', { class: 'swatch', viewBox: '0 0 14 14', width: 14, height: 14, 'aria-hidden': 'true' });
    if (shape === 'square') s.append(svg('rect', { class: cls, x: 2, y: 2, width: 10, height: 10 }));
    else if (shape === 'diamond') s.append(svg('path', { class: cls, d: 'M7,0L14,7L7,14L0,7Z' }));
    else if (shape === 'circle') s.append(svg('circle', { class: cls, cx: 7, cy: 7, r: 5.5 }));
    else s.append(svg('rect', { class: cls, x: 0, y: 0, width: 14, height: 14 }));
    return s;
  }

  // The map's key: the classes of the countries, the deposits' types and statuses present,
  // the urban mine's circles.
  function renderLegend(q, geo, circles, what, year) {
    const types = [...new Set(geo.features.map((d) => d.properties.type))].sort();
    const statuses = [...new Set(geo.features.map((d) => d.properties.status))].sort();
    const item = (s, label) => el('li', {}, s, ' ' + label);
    $('map-legend').replaceChildren(
      el('ul', { class: 'legend-list', 'aria-label': 'Countries' },
        ...q.legend.map(([cls, label]) => item(swatch('country ' + cls), label)),
        item(swatch('country none'), 'no ' + what + ' in recorded deposits')),
      el('ul', { class: 'legend-list', 'aria-label': 'Deposits' },
        ...types.map((t) => item(swatch('t-' + t, 'circle'), words(t))),
        ...statuses.map((s) => item(swatch('marker-shape', SHAPES[s] || 'circle'), s))),
      el('ul', { class: 'legend-list', 'aria-label': 'Urban mine' },
        item(swatch('urban', 'circle'), 'circle area: stock in use in ' + year),
        ...(circles.some((c) => c.cls === 'withheld') ? [item(swatch('urban withheld', 'circle'), 'small dotted circle: stock in use suppressed')] : [])));
  }

  // The map's figures as tables: per country, and per deposit shown.
  function renderTables(totals, counts, geo, f, name) {
    const what = f.element || 'rare earths';
    $('table-countries').tBodies[0].replaceChildren(...[...totals.values()].sort((a, b) => a.country.localeCompare(b.country)).map((t) =>
      el('tr', { 'data-country': t.country }, el('th', { scope: 'row' }, name(t.country)), cell(t.in_deposits),
        cell(typeof t.in_deposits.uncertainty === 'number' ? { value: t.in_deposits.uncertainty } : { value: null }),
        el('td', { class: 'num', 'data-value': counts.get(t.country) || 0 }, counts.get(t.country) || 0), cell(t.stock_in_use), cell(t.end_of_life))));
    $('deposits-content-h').textContent = what + ' (kg)';
    $('table-deposits').tBodies[0].replaceChildren(...geo.features.map((d) => {
      const content = contentOf(d, f.element);
      return el('tr', { 'data-id': d.id }, el('th', { scope: 'row' }, d.properties.name), el('td', {}, words(d.properties.type)),
        el('td', {}, d.properties.status), el('td', {}, d.properties.location.country), cell(content ? { value: content.value } : { value: null }));
    }));
  }

  // everything: the deposits of every country (their counts per country); the map shows those
  // of the country filter's country, as /api/v1/deposits.geojson?country= answers.
  function renderMap(topology, answer, everything, f) {
    const what = f.element || 'rare earths';
    const totals = countryTotals(answer, f.element);
    const q = classes([...totals.values()].map((t) => t.in_deposits.value));
    const geo = { features: everything.features.filter((d) => !f.country || d.properties.location.country === f.country) };
    // Deposits per country with an assay of the element (any rare earth): the answer's count
    // for one element; counted here for the rare earths together.
    const counts = new Map();
    for (const d of everything.features) {
      const c = d.properties.location.country;
      if (contentOf(d, f.element)) counts.set(c, (counts.get(c) || 0) + 1);
    }
    if (f.element) for (const t of totals.values()) counts.set(t.country, t.in_deposits.deposits);
    let names = null;
    try { names = new Intl.DisplayNames(['en'], { type: 'region' }); } catch (_) { names = null; }
    const name = (code) => (names ? names.of(code) + ' (' + code + ')' : code);
    const countries = new Map();
    for (const t of totals.values()) {
      const dep = t.in_deposits;
      const u = typeof dep.uncertainty === 'number' ? ' ± ' + C.fmt(dep.uncertainty) : '';
      countries.set(t.country, {
        cls: q.of(dep.value),
        title: name(t.country) + ': ' + what + ' in deposits ' + C.fmt(dep.value) + u + ' kg (' + (counts.get(t.country) || 0) +
          ' deposits with an assay of it' + t.by_deposit.map((b) => '; ' + words(b.deposit_type) + ', ' + b.status + ' ' + C.fmt(b.value) + ' kg').join('') +
          '); urban mine in ' + answer.year + ': stock in use ' + say(t.stock_in_use) + ', end of life ' + say(t.end_of_life),
      });
    }
    const stocks = [...totals.values()].map((t) => C.valueOf(t.stock_in_use)).filter((v) => v !== null && v > 0);
    const top = Math.max(0, ...stocks);
    const width = $('map').clientWidth || 640;
    const rMax = Math.max(14, Math.min(34, width * 0.035));
    const circles = [...totals.values()].flatMap((t) => {
      const title = name(t.country) + ': urban mine, stock in use of ' + what + ' in ' + answer.year + ' ' + say(t.stock_in_use);
      if (C.isSuppressed(t.stock_in_use)) return [{ code: t.country, r: 4, cls: 'withheld', title, attrs: { 'data-country': t.country, 'data-suppressed': 'true' } }];
      const v = C.valueOf(t.stock_in_use);
      if (!(v > 0)) return [];
      return [{ code: t.country, r: rMax * Math.sqrt(v / top), title, attrs: { 'data-country': t.country, 'data-value': v } }];
    });
    const points = geo.features.map((d) => {
      const p = d.properties;
      const content = contentOf(d, f.element);
      const amount = content
        ? '; ' + what + ' ' + C.fmt(content.value) + (typeof content.uncertainty === 'number' ? ' ± ' + C.fmt(content.uncertainty) : '') + ' kg'
        : '; no assay of ' + what;
      return {
        geometry: d.geometry, cls: 't-' + p.type, shape: SHAPES[p.status] || 'circle',
        title: p.name + ': ' + words(p.type) + ', ' + p.status + ', ' + p.location.country + (p.illustrative ? ' (illustrative)' : '') + amount,
        attrs: { 'data-id': d.id, 'data-type': p.type, 'data-status': p.status },
      };
    });
    const outside = M.draw($('map'), topology, {
      title: 'Residue deposits and the ' + what + ' in them per country, with the urban mine in ' + answer.year,
      description: geo.features.length + ' deposits; countries shaded by the ' + what + ' in their deposits, circles sized by the stock in use.',
      countries, selected: f.country, circles, points,
    });
    renderLegend(q, geo, circles, what, answer.year);
    $('caption-map').textContent = geo.features.length + ' deposit' + (geo.features.length === 1 ? '' : 's') +
      (f.country ? ' in ' + f.country : '') + '; hover or tap a marker or country for its figures.' +
      (outside ? ' ' + outside + ' outside the frame of Europe (see the table).' : '') +
      ' Boundaries: Natural Earth (public domain), 1:110m.';
    renderTables(totals, counts, geo, f, name);
  }

  // Grouped bars per element on a logarithmic axis (the deposits and the urban mine differ by
  // orders of magnitude): stock in use, end of life, and in deposits with its uncertainty (1σ)
  // as a whisker. A withheld figure is a ×, a zero a 0 at the axis, never a bar. Across on a
  // wide drawing; on a narrow one (a phone) the elements run down, a row each, so that their
  // labels stay apart.
  const SERIES = [['stock_in_use', 'Stock in use', 's1'], ['end_of_life', 'End of life', 's2'], ['in_deposits', 'In deposits (± 1σ)', 's3']];
  const DOWN_BELOW = 560;

  function chart(container, rows, title, description) {
    const width = Math.round(Math.min(960, Math.max(300, container.clientWidth || 640)));
    const down = width < DOWN_BELOW;
    const values = rows.flatMap((r) => SERIES.map(([k]) => C.valueOf(r[k])).concat([r.in_deposits.value + (r.in_deposits.uncertainty || 0)]))
      .filter((v) => v !== null && v > 0);
    // The axis starts at least a factor 2 below the least value, so that every bar shows.
    const lo = values.length ? Math.floor(Math.log10(Math.min(...values) / 2)) : 0;
    const hi = values.length ? Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...values)))) : 1;
    const label = (v) => (down ? new Intl.NumberFormat('en', { notation: 'compact' }).format(v) : C.fmt(v));
    // Room for the tick labels (across) or the element symbols (down), and the axis title.
    const left = down ? 40 : 30 + 7.5 * label(Math.pow(10, hi)).length;
    const [right, top] = [down ? 18 : 12, 14];
    const lane = 30;
    const height = down ? top + rows.length * lane + 96 : 340;
    const base = down ? left : height - 86;
    const far = down ? width - right : top;
    const at = (v) => base + ((Math.log10(Math.max(v, Math.pow(10, lo))) - lo) / (hi - lo)) * (far - base);
    const bandStart = down ? top : left;
    const band = ((down ? top + rows.length * lane : width - right) - bandStart) / Math.max(1, rows.length);
    const thick = Math.max(2, (band * 0.84) / SERIES.length);
    const end = down ? top + rows.length * lane : height - 86;
    const root = svg('svg', { viewBox: '0 0 ' + width + ' ' + height, class: 'chart', role: 'img', 'aria-labelledby': 'sr-t sr-d', 'data-layout': down ? 'down' : 'across' });
    root.append(svg('title', { id: 'sr-t' }, title), svg('desc', { id: 'sr-d' }, description));
    container.replaceChildren(root);
    if (!values.length) {
      root.append(svg('text', { class: 'empty', x: width / 2, y: height / 2, 'text-anchor': 'middle' }, 'No secondary resources for these filters.'));
    }
    // A rectangle from the value axis' foot to v, k-th in element i's band.
    const place = (i, k, v) => {
      const from = bandStart + band * i + band * 0.08 + k * thick;
      const to = at(v);
      return down
        ? { x: base, y: from, width: Math.max(0, to - base), height: thick - 1 }
        : { x: from, y: to, width: thick - 1, height: Math.max(0, base - to) };
    };
    const every = Math.ceil((hi - lo) / (down ? 4 : 6));
    for (let d = lo; d <= hi; d += every) {
      const p = at(Math.pow(10, d));
      root.append(down
        ? svg('line', { class: 'grid', x1: p, x2: p, y1: top, y2: end })
        : svg('line', { class: 'grid', x1: left, x2: width - right, y1: p, y2: p }));
      root.append(down
        ? svg('text', { class: 'tick', x: p, y: end + 16, 'text-anchor': 'middle' }, label(Math.pow(10, d)))
        : svg('text', { class: 'tick', x: left - 6, y: p + 4, 'text-anchor': 'end' }, label(Math.pow(10, d))));
    }
    rows.forEach((r, i) => {
      const middle = bandStart + band * (i + 0.5);
      root.append(down
        ? svg('text', { class: 'tick', x: left - 8, y: middle + 4, 'text-anchor': 'end' }, r.element)
        : svg('text', { class: 'tick', x: middle, y: base + 16, 'text-anchor': 'middle' }, r.element));
      SERIES.forEach(([key, name, cls], k) => {
        const figure = r[key];
        const what = r.element + ', ' + name.toLowerCase();
        const box = place(i, k, 1);
        // A mark at the axis' foot in the bar's place: × withheld, 0 zero.
        const foot = (cls2, text, extra) => {
          const mark = svg('text', {
            class: cls2, 'text-anchor': 'middle', 'data-element': r.element, 'data-series': key, ...extra,
            ...(down ? { x: base + 6, y: box.y + thick - 2 } : { x: box.x + thick / 2, y: base - 4 }),
          }, text);
          mark.append(svg('title', {}, what + (text === '0' ? ': 0 kg' : ': suppressed (disclosure control)')));
          root.append(mark);
        };
        if (C.isSuppressed(figure)) return foot('suppressed-mark', '×', {});
        const v = C.valueOf(figure);
        if (v === null) return undefined;
        if (v <= 0) return foot('zero-mark', '0', { 'data-value': v });
        const u = key === 'in_deposits' ? figure.uncertainty || 0 : null;
        const b = place(i, k, v);
        const rect = svg('rect', {
          class: 'bar ' + cls, x: b.x.toFixed(1), y: b.y.toFixed(1), width: b.width.toFixed(1), height: b.height.toFixed(1),
          'data-element': r.element, 'data-series': key, 'data-value': v,
        });
        if (u !== null) rect.setAttribute('data-uncertainty', u);
        rect.append(svg('title', {}, what + ': ' + C.fmt(v) + (u !== null ? ' ± ' + C.fmt(u) : '') + ' kg' +
          (key === 'in_deposits' ? ' in ' + figure.deposits + ' deposit' + (figure.deposits === 1 ? '' : 's') : '')));
        root.append(rect);
        if (u) {
          const [c, c2] = [0, 2].map((o) => (down ? b.y + b.height / 2 : b.x + b.width / 2) - o).map((t) => t.toFixed(1));
          const [p1, p2] = [at(v + u), at(v - u)].map((t) => t.toFixed(1));
          const d = down ? `M${p1},${c}H${p2}M${p1},${c2}v4M${p2},${c2}v4` : `M${c},${p1}V${p2}M${c2},${p1}h4M${c2},${p2}h4`;
          root.append(svg('path', { class: 'whisker', d, 'data-element': r.element, 'data-uncertainty': u }));
        }
        return undefined;
      });
    });
    root.append(down
      ? svg('line', { class: 'axis', x1: left, x2: left, y1: top, y2: end })
      : svg('line', { class: 'axis', x1: left, x2: width - right, y1: base, y2: base }));
    root.append(down
      ? svg('text', { class: 'axis-title', x: left + (width - left - right) / 2, y: end + 36, 'text-anchor': 'middle' }, 'kg (logarithmic)')
      : svg('text', { class: 'axis-title', x: 14, y: (top + base) / 2, 'text-anchor': 'middle', transform: 'rotate(-90 14 ' + (top + base) / 2 + ')' }, 'kg (logarithmic)'));
    if (!down) root.append(svg('text', { class: 'axis-title', x: left + (width - left - right) / 2, y: base + 36, 'text-anchor': 'middle' }, 'Element'));
    let lx = 16;
    let ly = height - 38;
    const items = SERIES.map(([, name, cls]) => [name, cls]);
    if (rows.some((r) => SERIES.some(([k]) => C.isSuppressed(r[k])))) items.push(['suppressed', null]);
    for (const [name, cls] of items) {
      const room = 34 + name.length * 7;
      if (lx + room > width && lx > 16) { lx = 16; ly += 18; }
      const g = svg('g', { class: 'legend-item' });
      g.append(cls ? svg('rect', { class: 'bar ' + cls, x: lx + 4, y: ly - 12, width: 16, height: 12 })
        : svg('text', { class: 'suppressed-mark', x: lx + 12, y: ly, 'text-anchor': 'middle' }, '×'));
      g.append(svg('text', { class: 'legend', x: lx + 28, y: ly }, name));
      root.append(g);
      lx += room;
    }
  }

  function renderChart(answer, f) {
    const rows = f.country ? answer.rows.filter((r) => r.country === f.country) : answer.totals;
    const where = f.country || 'all countries';
    chart($('chart-secondary'), rows, 'Secondary resources per element, ' + where + ', ' + answer.year + ' (kg)',
      rows.map((r) => r.element + ': stock in use ' + say(r.stock_in_use) + ', end of life ' + say(r.end_of_life) +
        ', in deposits ' + C.fmt(r.in_deposits.value) + ' ± ' + C.fmt(r.in_deposits.uncertainty) + ' kg').join('; '));
    $('caption-secondary').textContent = 'The urban mine (stock in use and end of life in ' + answer.year +
      ', modelled, all product categories) beside the content of the recorded residue deposits, ' + where +
      '; the whisker is the deposits\' standard uncertainty (1σ). Logarithmic scale.' +
      (answer.parameters_version ? ' Model parameters version ' + answer.parameters_version + '.' : '');
    $('table-secondary').tBodies[0].replaceChildren(...rows.map((r) => el('tr', { 'data-element': r.element },
      el('th', { scope: 'row' }, r.element), cell(r.stock_in_use), cell(r.end_of_life), cell(r.in_deposits),
      cell({ value: r.in_deposits.uncertainty }), el('td', { class: 'num', 'data-value': r.in_deposits.deposits }, r.in_deposits.deposits))));
    const d = answer.disclosure;
    $('secondary-rule').textContent = (answer.rule || '') + (d && typeof d.suppressed === 'number'
      ? ' Disclosure control withholds ' + d.suppressed + ' urban-mine figure' + (d.suppressed === 1 ? '' : 's') + ' in this answer; the deposits are open data.'
      : '');
  }

  // ctx: {json (the dashboard's API caller), filters, year (the Sankey's), current()}.
  async function refresh(ctx) {
    if (ctx) last = ctx;
    if (!last) return;
    const mine = ++generation;
    const { json, filters: f } = last;
    const section = $('secondary');
    const yearInput = $('f-secondary-year');
    if (!yearInput.value) yearInput.value = last.year;
    section.dataset.state = 'loading';
    $('secondary-status').textContent = 'Loading…';
    try {
      const year = yearInput.value;
      const [topology, all, geo] = await Promise.all([
        M.load(),
        json('/api/v1/stock/secondary-resources', { year, element: f.element }),
        json('/api/v1/deposits.geojson'),
      ]);
      const own = f.country ? await json('/api/v1/stock/secondary-resources', { year, element: f.element, country: f.country }) : all;
      if (mine !== generation || !last.current()) return;
      renderMap(topology, all, geo, f);
      renderChart(own, f);
      $('secondary-status').textContent = '';
      section.dataset.state = 'ready';
    } catch (error) {
      if (mine !== generation) return;
      $('secondary-status').textContent = 'The secondary resources could not be loaded: ' + error.message;
      section.dataset.state = 'error';
    }
  }

  function start() {
    const form = $('secondary-form');
    form.addEventListener('change', () => refresh());
    form.addEventListener('submit', (event) => { event.preventDefault(); refresh(); });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
  window.ReeSecondary = { refresh };
})();
