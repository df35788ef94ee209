// The scenarios page: a regulator's or admin's key (the dashboard's, in this tab's
// sessionStorage, checked with /api/v1/whoami), the scenarios the key may read, and for the
// chosen ones and one element, the baseline and each scenario side by side as the compare route
// answers them: stock in use, secondary supply, and the ratio with the CRMA benchmark line and
// its caveat.
'use strict';

(function () {
  const KEY = 'reetrace.apiKey';
  const ROLES = ['regulator', 'admin'];
  const MAX = 4;
  const C = window.ReeCharts;
  const $ = (id) => document.getElementById(id);
  let key = null;
  let answer = null;
  let generation = 0;

  function storedKey() {
    try { return sessionStorage.getItem(KEY); } catch (_) { return null; }
  }

  function store(value) {
    try {
      if (value) sessionStorage.setItem(KEY, value); else sessionStorage.removeItem(KEY);
    } catch (_) { /* storage disabled: the key lasts as long as the page */ }
  }

  async function get(path) {
    const response = await fetch(path, { headers: { Accept: 'application/json', Authorization: 'Bearer ' + key }, cache: 'no-store' });
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    if (!response.ok) {
      const error = new Error((body && (body.detail || body.title)) || ('HTTP ' + response.status));
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    node.append(...children);
    return node;
  }

  function chosen() {
    return [...document.querySelectorAll('#picker input:checked')].map((i) => i.value);
  }

  async function signIn(candidate) {
    key = candidate;
    let who;
    try {
      who = await get('/api/v1/whoami');
    } catch (error) {
      key = null;
      store(null);
      $('key-status').textContent = error.status === 401 ? 'This key is not valid.' : 'Could not check the key: ' + error.message;
      return;
    }
    if (!ROLES.includes(who.role)) {
      key = null;
      $('key-status').textContent = 'This key belongs to ' + who.org_name + ', whose role is ' + who.role +
        ': scenarios are for regulators and administrators only.';
      return;
    }
    store(candidate);
    $('login').hidden = true;
    $('board').hidden = false;
    $('who').textContent = 'Signed in as ' + who.org_name + ' (' + who.role + ').';
    await loadList();
  }

  async function loadList() {
    const list = await get('/api/v1/stock/scenarios');
    const picker = $('picker');
    picker.querySelectorAll('label').forEach((l) => l.remove());
    list.scenarios.forEach((s, i) => {
      const box = el('input', { type: 'checkbox', name: 'scenario', value: s.id });
      box.checked = i < MAX;
      box.addEventListener('change', () => {
        if (chosen().length > MAX) box.checked = false;
        compare();
      });
      picker.append(el('label', { class: 'pick' }, box, ' ' + s.name + ' (v' + s.version + (s.shared ? ', shared' : '') + ')'));
    });
    if (list.scenarios.length === 0) {
      $('load-status').textContent = 'No scenario yet: create one with POST /api/v1/stock/scenarios (see the API documentation at /docs).';
      return;
    }
    await compare();
  }

  async function compare() {
    const ids = chosen();
    const mine = ++generation;
    if (ids.length === 0) {
      $('load-status').textContent = 'Choose at least one scenario.';
      return;
    }
    $('load-status').textContent = 'Computing…';
    document.body.dataset.state = 'loading';
    try {
      const a = await get('/api/v1/stock/scenarios/compare?ids=' + ids.map(encodeURIComponent).join(','));
      if (mine !== generation) return;
      answer = a;
      elements();
      render();
      $('load-status').textContent = '';
      document.body.dataset.state = 'ready';
    } catch (error) {
      if (mine === generation) $('load-status').textContent = 'Could not compute: ' + error.message;
    }
  }

  // The element choice: the elements with figures, Dy first when there.
  function elements() {
    const select = $('f-element');
    const previous = select.value;
    const present = [...new Set(answer.scenarios[0].rows.map((r) => r.element))];
    select.replaceChildren(...present.map((e) => el('option', { value: e }, e)));
    select.value = present.includes(previous) ? previous : present.includes('Dy') ? 'Dy' : present[0] || '';
  }

  // The legend's name of a column: short, so that four scenarios fit a phone's chart legend; the
  // key under the scenario choice names each in full.
  const short = (i) => (i === 0 ? 'Baseline' : 'S' + i);

  function render() {
    const element = $('f-element').value;
    const years = [];
    for (let y = answer.year_from; y <= answer.year_to; y++) years.push(y);
    const last = answer.last_observed;
    const byYear = answer.scenarios.map((s) => new Map(s.rows.filter((r) => r.element === element).map((r) => [r.year, r])));
    const series = (field, scale = 1) => answer.scenarios.map((s, i) => ({
      label: short(i), cls: 's' + (i + 1),
      points: years.map((y) => {
        const row = byYear[i].get(y);
        const v = row ? row[field] : null;
        return { year: y, figure: { value: v === null || v === undefined ? null : v * scale }, forecast: last === null || y > last };
      }),
    }));
    const common = { years, unit: 'kg', yLabel: element + ' (kg)' };
    C.line($('chart-stock'), { ...common, title: element + ' in use', description: 'Stock in use per year, baseline and scenarios', series: series('stock_in_use') });
    C.line($('chart-supply'), { ...common, title: element + ' recovered', description: 'Secondary supply per year, baseline and scenarios', series: series('recovered') });
    const ratio = series('secondary_supply_ratio', 100);
    const magnet = answer.benchmark.elements.includes(element);
    if (magnet) {
      ratio.push({ label: 'CRMA ' + answer.benchmark.share * 100 + ' %', cls: 'benchmark',
        points: years.map((y) => ({ year: y, figure: { value: answer.benchmark.share * 100 }, forecast: false })) });
    }
    C.line($('chart-ratio'), { years, unit: '%', yLabel: '%', title: element + ': secondary supply ÷ placed on the market',
      description: 'Per cent per year' + (magnet ? ', with the CRMA benchmark line' : ''), series: ratio });
    $('caveat').textContent = magnet ? answer.benchmark.caveat : 'The CRMA benchmark comparison is shown for ' + answer.benchmark.elements.join(', ') + ' only.';
    $('basis').textContent = 'Data revision ' + answer.data_revision + ', model parameters version ' + answer.parameters_version +
      ', years ' + answer.year_from + '–' + answer.year_to + (last === null ? '' : ' (observed to ' + last + ')') + '.';
    $('series-key').replaceChildren(...answer.scenarios.map((s, i) => el('li', {}, el('strong', {}, short(i)), ': ' +
      (i === 0 ? 'the observed data with the flat forecast and the baseline rates' : s.name + ' (version ' + s.version + ')'))),
      ...(magnet ? [el('li', {}, el('strong', {}, 'CRMA ' + answer.benchmark.share * 100 + ' %'), ': the benchmark, indicative (see below the ratio)')] : []));
    const table = $('table-ratio');
    table.tHead.rows[0].replaceChildren(el('th', { scope: 'col' }, 'Year'),
      ...answer.scenarios.map((s, i) => el('th', { scope: 'col', class: 'num' }, short(i))));
    table.tBodies[0].replaceChildren(...years.map((y) => el('tr', { 'data-year': y }, el('th', { scope: 'row' }, String(y)),
      ...byYear.map((m) => {
        const r = m.get(y);
        const v = r ? r.secondary_supply_ratio : null;
        return v === null || v === undefined ? el('td', { class: 'num' }, '–') : el('td', { class: 'num', 'data-value': v }, C.fmt(v * 100, 2) + ' %');
      }))));
  }

  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    signIn($('api-key').value.trim());
  });
  $('sign-out').addEventListener('click', () => {
    store(null);
    key = null;
    $('board').hidden = true;
    $('login').hidden = false;
  });
  $('f-element').addEventListener('change', () => { if (answer) render(); });
  const saved = storedKey();
  if (saved) signIn(saved);
})();
