// The urban-mine dashboard: the published statistics without a key (open data, with disclosure
// control), or every figure exactly with a regulator's or admin's key (entered once, kept in
// this tab's sessionStorage, checked with /api/v1/whoami); the stock API's figures for the
// chosen filters as SVG charts and tables. Figures are shown exactly as the API answers them;
// withheld cells say "suppressed".
'use strict';

(function () {
  const KEY = 'reetrace.apiKey';
  const PUBLIC = 'reetrace.publicView';
  const ROLES = ['regulator', 'admin'];
  const C = window.ReeCharts;
  const $ = (id) => document.getElementById(id);
  let key = null;
  let generation = 0;

  function storedKey() {
    try { return sessionStorage.getItem(KEY); } catch (_) { return null; }
  }

  function store(value) {
    try {
      if (value) sessionStorage.setItem(KEY, value); else sessionStorage.removeItem(KEY);
    } catch (_) { /* storage disabled: the key lasts as long as the page */ }
  }

  function storePublic(on) {
    try {
      if (on) sessionStorage.setItem(PUBLIC, '1'); else sessionStorage.removeItem(PUBLIC);
    } catch (_) { /* storage disabled */ }
  }

  function storedPublic() {
    try { return sessionStorage.getItem(PUBLIC) === '1'; } catch (_) { return false; }
  }

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || ('HTTP ' + status));
      this.status = status;
    }
  }

  async function call(path, params) {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params || {})) {
      if (value !== '' && value !== null && value !== undefined) query.set(name, value);
    }
    const qs = query.toString();
    const headers = { Accept: 'application/json' };
    if (key) headers.Authorization = 'Bearer ' + key;
    const response = await fetch(path + (qs ? '?' + qs : ''), { headers, cache: 'no-store' });
    if (!response.ok) {
      let problem = null;
      try { problem = await response.json(); } catch (_) { problem = null; }
      throw new ApiError(response.status, problem);
    }
    return response;
  }

  const json = async (path, params) => (await call(path, params)).json();

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  // A table cell for an API figure: the value, "suppressed" or "–" (undefined).
  function figureCell(figure, asPercent) {
    if (C.isSuppressed(figure)) {
      return el('td', { class: 'num suppressed', 'data-suppressed': 'true' }, 'suppressed');
    }
    const v = C.valueOf(figure);
    if (v === null) return el('td', { class: 'num undefined' }, '–');
    const text = asPercent ? C.fmt(v * 100, 1) + ' %' : C.fmt(v);
    return el('td', { class: 'num', 'data-value': v }, text);
  }

  function filters() {
    const f = new FormData($('filters'));
    return {
      element: f.get('element') || '',
      category: f.get('category') || '',
      country: f.get('country') || '',
      year_from: f.get('year_from') || '',
      year_to: f.get('year_to') || '',
    };
  }

  // Boron, cobalt and nickel: magnet materials counted beside the rare earths, never in "all REEs".
  const MAGNET_MATERIALS = ['B', 'Co', 'Ni'];

  function describe(f) {
    const parts = [];
    parts.push(f.element ? f.element : 'all REEs');
    if (f.category) parts.push($('f-category').selectedOptions[0].textContent);
    if (f.country) parts.push(f.country);
    return parts.join(', ');
  }

  function renderStock(answer, f) {
    const lastObserved = answer.model ? answer.model.last_observed : Infinity;
    const rows = answer.rows.filter((r) => r.flow === 'stock_in_use');
    const years = rows.map((r) => r.year);
    C.line($('chart-stock'), {
      title: 'Stock in use per year (' + describe(f) + '), kg',
      description: 'Modelled stock in use at the end of each year from ' + answer.year_from + ' to ' + answer.year_to +
        '; years after ' + lastObserved + ' are a forecast.',
      years, unit: 'kg', yLabel: 'Stock in use (kg)',
      series: [{ label: 'Stock in use', cls: 's1', points: rows.map((r) => ({ year: r.year, figure: r, forecast: r.year > lastObserved })) }],
    });
    // Withheld years never precede published ones: say from when, and why.
    const withheld = rows.find((r) => C.isSuppressed(r));
    $('caption-stock').textContent = (answer.model
      ? 'Observed placing on the market up to ' + lastObserved + ', forecast (dashed) to ' + answer.model.horizon +
        '; model parameters version ' + answer.parameters_version + '.'
      : 'No modelled figures for these filters.') +
      (withheld
        ? ' Withheld from ' + withheld.year + ' on: a placed-on-market figure this stock is made of is withheld in ' +
          withheld.year + ', and the stock of that year and after would give it back. A single category or element may be published.'
        : '');
    $('table-stock').tBodies[0].replaceChildren(...rows.map((r) => el('tr', { 'data-year': r.year },
      el('th', { scope: 'row' }, r.year), figureCell(r), el('td', {}, r.year > lastObserved ? 'forecast' : 'modelled'))));
  }

  function renderEol(answer, f) {
    const rows = answer.rows;
    const years = rows.map((r) => r.year);
    C.bars($('chart-eol'), {
      title: 'End of life per year (' + describe(f) + '), kg',
      description: 'End-of-life generated (modelled), collected and recycled (observed) per year, in kilograms.',
      years, unit: 'kg', yLabel: 'Mass per year (kg)',
      series: [
        { label: 'EOL generated', cls: 's1', figures: rows.map((r) => r.eol_generated) },
        { label: 'Collected', cls: 's2', figures: rows.map((r) => r.collected) },
        { label: 'Recycled', cls: 's3', figures: rows.map((r) => r.recycled) },
      ],
    });
    $('table-eol').tBodies[0].replaceChildren(...rows.map((r) => el('tr', { 'data-year': r.year },
      el('th', { scope: 'row' }, r.year), figureCell(r.eol_generated), figureCell(r.collected), figureCell(r.recycled))));
  }

  const TILES = [
    ['stock_in_use', 'Stock in use', false, 'kg'],
    ['eol_generated', 'End of life generated', false, 'kg'],
    ['collection_rate', 'Collection rate', true, ''],
    ['recovery_yield', 'Recovery yield', true, ''],
    ['eol_recycling_rate', 'EOL recycling rate', true, ''],
    ['recycled_content_rate', 'Recycled content rate', true, ''],
  ];

  // The year the tiles and the Sankey diagram open on: the last observed year in range (the
  // current one is still filling) whose figures are published. Disclosure control withholds the
  // newest years' custody flows while fewer than k organisations have recorded them (and the
  // modelled figures of a series from a year with one maker on); when no observed year has
  // every figure published, the last one with the most published figures, so that the view
  // never opens on tiles that all say "suppressed" while another year has figures.
  function publishedYear(rows, lastObserved) {
    const observed = rows.filter((r) => lastObserved === null || r.year <= lastObserved);
    const candidates = observed.length ? observed : rows;
    let best = null;
    let bestCount = -1;
    for (const r of candidates) {
      const count = TILES.filter(([name]) => !C.isSuppressed(r[name])).length;
      if (count >= bestCount) { best = r; bestCount = count; }
    }
    return best;
  }

  function renderIndicators(answer, f, lastObserved) {
    const rows = answer.rows;
    const last = publishedYear(rows, lastObserved);
    $('tiles').replaceChildren(...(last ? TILES.map(([name, label, rate, unit]) => {
      const figure = last[name];
      const suppressed = C.isSuppressed(figure);
      const v = C.valueOf(figure);
      const text = suppressed ? 'suppressed' : v === null ? '–' : rate ? C.fmt(v * 100, 1) + ' %' : C.fmt(v) + ' ' + unit;
      const attrs = { class: 'tile' + (suppressed ? ' suppressed' : ''), 'data-indicator': name, 'data-year': last.year };
      if (v !== null) attrs['data-value'] = v;
      return el('div', attrs, el('p', { class: 'tile-label' }, label + ' ' + last.year), el('p', { class: 'tile-value' }, text));
    }) : [el('p', {}, 'No figures for these filters.')]));
    C.line($('chart-rates'), {
      title: 'Collection, end-of-life recycling and recycled content rates (' + describe(f) + '), %',
      description: 'Rates per year in per cent.',
      years: rows.map((r) => r.year), unit: '%', yLabel: 'Rate (%)',
      series: [
        ['collection_rate', 'Collection rate', 's2'],
        ['eol_recycling_rate', 'EOL recycling rate', 's3'],
        ['recycled_content_rate', 'Recycled content rate', 's4'],
      ].map(([name, label, cls]) => ({
        label, cls,
        points: rows.map((r) => {
          const v = C.valueOf(r[name]);
          return { year: r.year, figure: C.isSuppressed(r[name]) ? r[name] : { value: v === null ? null : v * 100 }, forecast: false };
        }),
      })),
    });
    $('table-indicators').tBodies[0].replaceChildren(...rows.map((r) => el('tr', { 'data-year': r.year },
      el('th', { scope: 'row' }, r.year), figureCell(r.placed_on_market), figureCell(r.collection_rate, true),
      figureCell(r.recovery_yield, true), figureCell(r.eol_recycling_rate, true), figureCell(r.recycled_content_rate, true))));
    $('definitions').replaceChildren(...answer.definitions.flatMap((d) => [el('dt', {}, d.name), el('dd', {}, d.definition)]));
  }

  function renderSankey(answer, f) {
    const labels = new Map(answer.nodes.map((n) => [n.id, n.label]));
    C.sankey($('chart-sankey'), {
      title: 'Flows of ' + (MAGNET_MATERIALS.includes(f.element) ? f.element + ' (magnet material)' : 'rare-earth elements') + ' in ' + answer.year + ' (' + describe(f) + '), kg',
      description: answer.links.map((l) => labels.get(l.source) + ' to ' + labels.get(l.target) + ': ' +
        (C.isSuppressed(l) ? 'suppressed' : C.fmt(C.valueOf(l)) + ' kg')).join('; '),
      nodes: answer.nodes, links: answer.links, unit: answer.unit,
    });
    $('sankey-h').textContent = 'Flows of ' + answer.year;
    $('caption-sankey').textContent = 'From placing on the market to secondary material in ' + answer.year +
      ' (' + describe(f) + '); ribbon width is the mass in ' + answer.unit + '.';
    $('table-sankey').tBodies[0].replaceChildren(...answer.links.map((l) => el('tr', { 'data-source': l.source, 'data-target': l.target },
      el('td', {}, labels.get(l.source) || l.source), el('td', {}, labels.get(l.target) || l.target), figureCell(l), el('td', {}, l.basis))));
  }

  // The flows a regulator values, and their names on the page.
  const VALUED = [
    ['placed_on_market', 'observed', 'Placed on the market'],
    ['stock_in_use', 'modelled', 'Stock in use'],
    ['eol_generated', 'modelled', 'End of life'],
    ['recycled', 'observed', 'Recycled'],
  ];

  // A value cell: withheld ("suppressed"), no price ("no price"), or euros.
  function worthCell(figure, range) {
    if (C.isSuppressed(figure)) {
      return el('td', { class: 'num suppressed', 'data-suppressed': 'true' }, 'suppressed');
    }
    const v = C.valueOf(figure);
    if (v === null) return el('td', { class: 'num undefined' }, 'no price');
    const text = range ? C.fmt(v) + ' – ' + C.fmt(C.valueOf(range)) : C.fmt(v);
    return el('td', { class: 'num', 'data-value': v }, text);
  }

  function renderValues(answer, year) {
    const rows = [];
    for (const [flow, basis, label] of VALUED) {
      for (const r of answer.rows.filter((x) => x.flow === flow && x.basis === basis)) {
        rows.push(el('tr', { 'data-element': r.element, 'data-flow': flow },
          el('th', { scope: 'row' }, r.element), el('td', {}, label), figureCell(r.mass_kg),
          worthCell(r.worth), C.isSuppressed(r.worth) || C.valueOf(r.worth) === null
            ? worthCell(r.worth) : worthCell(r.worth_min, r.worth_max)));
      }
    }
    $('table-values').tBodies[0].replaceChildren(...rows);
    const nearest = answer.rows.some((r) => r.price && r.price.nearest);
    $('caption-values').textContent = 'In ' + year + ', at the price series version ' + answer.prices_version +
      (nearest ? ' (no price of ' + year + ' for some elements: the nearest year is used)' : '') +
      '; the range is the value at the lowest and highest price of the series.' +
      (answer.unpriced_elements.length ? ' No price for ' + answer.unpriced_elements.join(', ') + '.' : '');
  }

  // The categories ranked by the value of their rare earths at end of life per tonne of
  // product, with the value recovered; a figure is withheld as the API withholds it. The
  // product mass is shown in kg (the API's tonnes times 1,000): small products' end of life
  // is often under a kilogram.
  function renderRanking(answer) {
    const names = new Map([...$('f-category').options].map((o) => [o.value, o.textContent]));
    $('table-ranking').tBodies[0].replaceChildren(...answer.rows.map((r) => el('tr', { 'data-category': r.category },
      el('td', { class: 'num' }, r.rank_per_tonne === undefined ? '–' : r.rank_per_tonne),
      el('th', { scope: 'row' }, names.get(r.category) || r.category),
      figureCell(r.eol_worth_per_t),
      C.isSuppressed(r.eol_worth_per_t) || C.valueOf(r.eol_worth_per_t) === null
        ? figureCell(r.eol_worth_per_t) : worthCell(r.eol_worth_per_t_min, r.eol_worth_per_t_max),
      figureCell(typeof r.eol_product_t.value === 'number' ? { value: r.eol_product_t.value * 1000 } : r.eol_product_t),
      worthCell(r.recovered_worth))));
    const incomplete = answer.rows.filter((r) => !r.mass_complete).length;
    $('caption-ranking').textContent = 'End of life in ' + answer.year + ' (modelled), recovered in ' + answer.year +
      ' (observed), at the price series version ' + answer.prices_version + '. A value per tonne is shown only where ' +
      'both the rare earths and the products at end of life are published.' +
      (incomplete ? ' ' + incomplete + ' categor' + (incomplete === 1 ? 'y has' : 'ies have') +
        ' products placed on the market without a known net mass.' : '');
  }

  function renderDisclosure(answers) {
    const d = answers.map((a) => a.disclosure).filter(Boolean);
    if (!d.length) {
      $('disclosure').textContent = key
        ? 'Every figure is shown exactly (an authority\'s view); these reads are recorded in the audit trail.'
        : '';
      return;
    }
    const withheld = d.reduce((s, x) => s + x.suppressed, 0);
    // With k = 1 only the p%-rule is left ("fewer than 1 organisations" would mean nothing).
    const k = d[0].k;
    const rule = k > 1
      ? 'built from fewer than ' + k + ' organisations, or dominated by one,'
      : 'dominated by one organisation';
    $('disclosure').textContent = 'Disclosure control: cells ' + rule +
      ' are withheld, with others that would give them back; ' + withheld + ' figure' +
      (withheld === 1 ? ' is' : 's are') + ' withheld in this view.';
  }

  async function refresh() {
    const mine = ++generation;
    const f = filters();
    $('load-status').textContent = 'Loading…';
    document.body.dataset.state = 'loading';
    try {
      const [stock, indicators] = await Promise.all([
        json('/api/v1/stock/flows', { flow: 'stock_in_use', basis: 'modelled', group_by: 'year', ...f }),
        json('/api/v1/stock/indicators', f),
      ]);
      // The Sankey diagram opens on the last observed year with published figures.
      const yearInput = $('f-sankey-year');
      if (!yearInput.value) {
        const opening = publishedYear(indicators.rows, stock.model ? stock.model.last_observed : null);
        yearInput.value = opening ? opening.year : indicators.year_to;
      }
      const sankey = await json('/api/v1/stock/sankey', {
        year: yearInput.value, element: f.element, category: f.category, country: f.country,
      });
      const values = await json('/api/v1/stock/values', {
        year_from: yearInput.value, year_to: yearInput.value, basis: 'both', group_by: '', currency: 'EUR',
        element: f.element, category: f.category, country: f.country,
      });
      const ranking = await json('/api/v1/stock/values/ranking', {
        year: yearInput.value, currency: 'EUR', country: f.country,
      });
      if (mine !== generation) return;
      renderStock(stock, f);
      renderEol(indicators, f);
      renderIndicators(indicators, f, stock.model ? stock.model.last_observed : null);
      renderSankey(sankey, f);
      renderValues(values, yearInput.value);
      renderRanking(ranking);
      renderDisclosure([stock, indicators, sankey]);
      // The secondary resources (map and chart) report their own errors in their section.
      await window.ReeSecondary.refresh({ json, filters: f, year: yearInput.value, current: () => mine === generation });
      if (mine !== generation) return;
      $('load-status').textContent = 'Showing ' + describe(f) + ', ' + indicators.year_from + ' to ' + indicators.year_to + '.';
      document.body.dataset.state = 'ready';
    } catch (error) {
      if (mine !== generation) return;
      $('load-status').textContent = 'The figures could not be loaded: ' + error.message;
      document.body.dataset.state = 'error';
      if (error.status === 401) signOut('The key is no longer valid.');
    }
  }

  async function loadCountries() {
    const answer = await json('/api/v1/stock/flows', { flow: 'placed_on_market', group_by: 'country' });
    let names = null;
    try { names = new Intl.DisplayNames(['en'], { type: 'region' }); } catch (_) { names = null; }
    const codes = [...new Set(answer.rows.map((r) => r.country).filter(Boolean))].sort();
    const select = $('f-country');
    select.replaceChildren(el('option', { value: '' }, 'All countries'),
      ...codes.map((c) => el('option', { value: c }, (names ? names.of(c) + ' (' + c + ')' : c))));
  }

  async function download(format) {
    const f = filters();
    const status = $('download-status');
    status.textContent = 'Preparing the ' + format.toUpperCase() + ' export…';
    try {
      const response = await call('/api/v1/stock/export.csv', { ...f, format });
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const link = el('a', { href: url, download: 'reetrace-stock.' + format, hidden: '' });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      status.textContent = 'Downloaded reetrace-stock.' + format + ' (' + blob.size.toLocaleString('en') + ' bytes).';
    } catch (error) {
      status.textContent = 'The export failed: ' + error.message;
    }
  }

  function signOut(message) {
    store(null);
    storePublic(false);
    key = null;
    $('board').hidden = true;
    $('login').hidden = false;
    $('key-form').hidden = false;
    $('key-status').textContent = message || 'Signed out.';
  }

  async function signIn(candidate) {
    key = candidate;
    let who;
    try {
      who = await json('/api/v1/whoami');
    } catch (error) {
      key = null;
      store(null);
      $('key-status').textContent = error.status === 401
        ? 'That key is not valid (or was revoked).'
        : 'The key could not be checked: ' + error.message;
      return;
    }
    if (!ROLES.includes(who.role)) {
      key = null;
      store(null);
      $('key-status').textContent = 'This key belongs to ' + who.org_name + ', whose role is ' + who.role +
        '. Keys show every figure to regulators and administrators only; manufacturers and recyclers read their own figures from the stock API, and anyone the published statistics (without a key).';
      document.body.dataset.state = 'refused';
      return;
    }
    store(candidate);
    storePublic(false);
    await showBoard('Signed in as ' + who.org_name + ' (' + who.role + '): every figure, exactly.');
  }

  // The published statistics, without a key: what anyone may read.
  async function viewPublic() {
    key = null;
    store(null);
    storePublic(true);
    await showBoard('Published statistics (open data, no key): cells that could reveal one organisation\'s figures are withheld.');
  }

  async function showBoard(who) {
    $('who').textContent = who;
    $('key-status').textContent = '';
    $('login').hidden = true;
    $('board').hidden = false;
    try { await loadCountries(); } catch (error) { $('load-status').textContent = error.message; }
    await refresh();
  }

  function start() {
    $('key-form').hidden = false;
    $('key-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const value = $('api-key').value.trim();
      $('api-key').value = '';
      if (value) signIn(value);
    });
    $('public-view').hidden = false;
    $('public-view').addEventListener('click', () => viewPublic());
    $('sign-out').addEventListener('click', () => signOut());
    $('filters').addEventListener('change', refresh);
    $('filters').addEventListener('submit', (event) => { event.preventDefault(); refresh(); });
    $('sankey-form').addEventListener('change', refresh);
    $('sankey-form').addEventListener('submit', (event) => { event.preventDefault(); refresh(); });
    $('download-csv').addEventListener('click', () => download('csv'));
    $('download-json').addEventListener('click', () => download('json'));
    const saved = storedKey();
    if (saved) signIn(saved);
    else if (storedPublic()) viewPublic();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
