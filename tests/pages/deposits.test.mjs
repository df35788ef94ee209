// End-to-end tests of the dashboard's secondary resources in headless Chromium: the map of the
// residue deposits over Natural Earth's boundaries (embedded in the binary) and the chart of
// both secondary resources per element. Started by run.sh after pages.test.mjs, against the
// same server (BASE_URL) and demo keys (DEMO_JSON): a surveyor organisation made with the admin
// key records a few deposits through the API, then every marker, country total and bar is
// compared with what /api/v1/deposits.geojson and /api/v1/stock/secondary-resources answer.
// Withheld urban-mine figures must be shown as "suppressed", never as 0.
import { readFileSync } from 'node:fs';
import { strict as assert } from 'node:assert';
import { chromium } from 'playwright-core';

const BASE = process.env.BASE_URL;
const demo = JSON.parse(readFileSync(process.env.DEMO_JSON, 'utf8'));
const SHOTS = process.env.SCREENSHOTS;
const keys = { admin: demo.keys.admin, regulator: demo.keys.regulator };
const BOUNDARIES = '/assets/world-atlas-2.0.2/countries-110m.json';
// Names of this run (the tests may run again against the same server).
const RUN = Date.now().toString(36).slice(-5).toUpperCase();

async function call(method, path, key, body) {
  const headers = { Accept: 'application/json' };
  if (key) headers.Authorization = 'Bearer ' + key;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch (_) { json = null; }
  return { status: response.status, body: json, text, headers: response.headers };
}

async function api(path, key) {
  const answer = await call('GET', path, key);
  if (answer.status !== 200) throw new Error(`${path}: HTTP ${answer.status} ${answer.text}`);
  return answer.body;
}

const qs = (params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== undefined && v !== null) q.set(k, v);
  const s = q.toString();
  return s ? '?' + s : '';
};

const results = [];
async function test(name, body) {
  const started = Date.now();
  try {
    await body();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}\n     ${String(error && error.stack || error).split('\n').join('\n     ')}`);
  }
}

async function open(context, path, { width = 1280, height = 900 } = {}) {
  const page = await context.newPage();
  await page.setViewportSize({ width, height });
  page.errors = [];
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  page.on('pageerror', (e) => page.errors.push('uncaught: ' + e.message));
  page.on('response', (r) => { if (r.status() >= 400) page.errors.push(`(HTTP ${r.status()} for ${r.url()})`); });
  const response = await page.goto(BASE + path, { waitUntil: 'load' });
  assert.equal(response.status(), 200, path);
  return page;
}

const assertNoConsoleErrors = (page) => assert.deepEqual(page.errors, [], 'console errors and failed requests');
const shot = (page, name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

// The dashboard and its secondary-resources section both drawn.
const ready = (page) => page.waitForFunction(() => document.body.dataset.state === 'ready' &&
  document.getElementById('secondary').dataset.state === 'ready');

// A table cell: {value, suppressed, text}.
const cells = (page, id) => page.$$eval(`#${id} tbody tr`, (rows) => rows.map((tr) => ({
  key: tr.dataset.element || tr.dataset.country || tr.dataset.id,
  cells: [...tr.querySelectorAll('td.num')].map((td) => ({
    value: td.dataset.value === undefined ? null : Number(td.dataset.value),
    suppressed: td.dataset.suppressed === 'true',
    text: td.textContent,
  })),
})));

function assertFigure(cell, figure, what) {
  if (figure.suppressed) {
    assert.ok(cell.suppressed && cell.text === 'suppressed' && cell.value === null, `${what}: shown as suppressed`);
  } else if (figure.value === null || figure.value === undefined) {
    assert.ok(cell.value === null && cell.text === '–', `${what}: undefined, shown as –`);
  } else {
    assert.equal(cell.value, figure.value, what);
    assert.ok(!cell.suppressed, what);
  }
}

// ---- deposits recorded through the API ---------------------------------------------------

// Inland places, so that each marker falls within its country's 1:110m outline.
const DEPOSITS = [
  { name: 'Residue pond', type: 'bauxite_residue', status: 'closed', country: 'HU',
    geometry: { type: 'Polygon', coordinates: [[[17.47, 47.08], [17.49, 47.08], [17.49, 47.09], [17.47, 47.09], [17.47, 47.08]]] },
    tonnes: 30000000, ppm: { Sc: [110, 8], Nd: [95, 6], Ce: [380, 20] } },
  { name: 'Ash landfill', type: 'fly_ash', status: 'active', country: 'PL',
    geometry: { type: 'Point', coordinates: [19.33, 51.27] }, tonnes: 12000000, ppm: { Nd: [40, 4], La: [45, 5], Y: [38, 3] } },
  { name: 'Tailings dam', type: 'mine_tailings', status: 'abandoned', country: 'SE',
    geometry: { type: 'Point', coordinates: [20.22, 67.85] }, tonnes: 5000000, ppm: { Nd: [120, 15], Dy: [6, 1] } },
  { name: 'Phosphogypsum stack', type: 'phosphogypsum', status: 'closed', country: 'DE',
    geometry: { type: 'Point', coordinates: [11.9, 51.4] }, tonnes: 2000000, ppm: { Nd: [60, 9], Ce: [150, 12] } },
  { name: 'Slag heap', type: 'slag', status: 'active', country: 'FR',
    geometry: { type: 'Polygon', coordinates: [[[2.5, 47.0], [2.53, 47.0], [2.53, 47.02], [2.5, 47.02], [2.5, 47.0]]] },
    tonnes: 800000, ppm: { Nd: [25, 3] } },
];

async function recordDeposits() {
  const org = await call('POST', '/api/v1/orgs', keys.admin, { name: `Pages survey ${RUN}`, role: 'surveyor' });
  assert.equal(org.status, 201, org.text);
  const surveyor = org.body.api_key;
  const ids = [];
  for (const d of DEPOSITS) {
    const made = await call('POST', '/api/v1/deposits', surveyor, {
      name: `${d.name} ${RUN}`, type: d.type, status: d.status,
      location: { geometry: d.geometry, country: d.country },
      tonnage: { tonnes: d.tonnes, uncertainty_tonnes: d.tonnes / 10, method: 'survey' },
      deposition: d.status === 'active' ? { from: 1980 } : { from: 1970, to: 2015 }, illustrative: true,
      assays: [{ sampled_on: '2025-04-01', method: 'ICP-MS', laboratory: 'Pages laboratory', sample_count: 10,
        concentrations: Object.entries(d.ppm).map(([element, [ppm, u]]) => ({ element, ppm, uncertainty_ppm: u })) }],
    });
    assert.equal(made.status, 201, made.text);
    ids.push(made.body.id);
  }
  // The stock service reads the deposits from their feed: wait until its answer holds them all.
  for (let i = 0; i < 120; i++) {
    const geo = await api('/api/v1/deposits.geojson');
    const withNd = geo.features.filter((d) => d.properties.content.some((c) => c.element === 'Nd')).length;
    const nd = (await api('/api/v1/stock/secondary-resources?element=Nd')).totals.find((r) => r.element === 'Nd');
    if (nd && nd.in_deposits.deposits === withNd) return ids;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the stock service did not take in the recorded deposits');
}

// ---- the map -----------------------------------------------------------------------------

// The map as drawn: countries (code, name, box, fill class) and deposit markers (id, centre,
// title, the country path the centre falls in).
const mapState = (page) => page.evaluate(() => {
  const svg = document.querySelector('#map svg');
  const vb = svg.viewBox.baseVal;
  const paths = [...svg.querySelectorAll('path.country')];
  const countries = paths.map((p) => {
    const b = p.getBBox();
    return { code: p.dataset.country || null, name: p.dataset.name, cls: p.getAttribute('class'), d: p.getAttribute('d').length,
      box: { x: b.x, y: b.y, w: b.width, h: b.height }, title: p.querySelector('title').textContent };
  });
  const markers = [...svg.querySelectorAll('g.deposit')].map((g) => {
    const b = g.firstElementChild.getBBox();
    const at = new DOMPoint(b.x + b.width / 2, b.y + b.height / 2);
    const within = paths.filter((p) => p.isPointInFill(at)).map((p) => p.dataset.country);
    return { id: g.dataset.id, type: g.dataset.type, status: g.dataset.status, title: g.querySelector('title').textContent, x: at.x, y: at.y, within };
  });
  const circles = [...svg.querySelectorAll('circle.urban')].map((c) => ({ country: c.dataset.country,
    value: c.dataset.value === undefined ? null : Number(c.dataset.value), suppressed: c.dataset.suppressed === 'true' }));
  return { view: { w: vb.width, h: vb.height }, countries, markers, circles };
});

// What the map's countries should show: per country, the element's row of the unfiltered
// answer, or (all rare earths) the sum of the rare earths' rows, withheld when any is.
function expectedTotals(answer, element, rareEarths) {
  const by = new Map();
  for (const r of answer.rows) {
    if (element ? r.element !== element : !rareEarths.includes(r.element)) continue;
    by.set(r.country, (by.get(r.country) || []).concat([r]));
  }
  const sum = (figures) => (figures.some((f) => f.suppressed) ? { suppressed: true }
    : { value: figures.some((f) => typeof f.value === 'number') ? figures.reduce((s, f) => s + (f.value || 0), 0) : null });
  return new Map([...by].map(([c, rows]) => [c, {
    in_deposits: rows.reduce((s, r) => s + r.in_deposits.value, 0),
    uncertainty: rows.length === 1 ? rows[0].in_deposits.uncertainty : null,
    deposits: rows.length === 1 ? rows[0].in_deposits.deposits : null,
    stock_in_use: sum(rows.map((r) => r.stock_in_use)),
    end_of_life: sum(rows.map((r) => r.end_of_life)),
  }]));
}

async function assertMapMatchesApi(page, key) {
  const f = await page.evaluate(() => ({ element: document.getElementById('f-element').value, country: document.getElementById('f-country').value }));
  const year = await page.inputValue('#f-secondary-year');
  const [geo, everywhere, all] = await Promise.all([
    api('/api/v1/deposits.geojson' + qs({ country: f.country }), key),
    api('/api/v1/deposits.geojson', key),
    api('/api/v1/stock/secondary-resources' + qs({ year, element: f.element }), key),
  ]);
  const m = await mapState(page);
  // Every deposit of the GeoJSON has one marker, named in its title with its type and status.
  assert.equal(m.markers.length, geo.features.length, 'a marker per deposit');
  assert.deepEqual(m.markers.map((x) => x.id).sort(), geo.features.map((d) => d.id).sort(), 'the markers are the GeoJSON\'s deposits');
  for (const d of geo.features) {
    const marker = m.markers.find((x) => x.id === d.id);
    assert.equal(marker.type, d.properties.type);
    assert.equal(marker.status, d.properties.status);
    assert.ok(marker.title.includes(d.properties.name) && marker.title.includes(d.properties.type.replace(/_/g, ' ')) &&
      marker.title.includes(d.properties.status), `the title names ${d.properties.name}, its type and status: ${marker.title}`);
  }
  const listed = await page.$$eval('#table-deposits tbody tr', (rows) => rows.map((tr) => tr.dataset.id));
  assert.deepEqual(listed.sort(), geo.features.map((d) => d.id).sort(), 'the deposits\' table lists the same deposits');
  // Country totals, in the table and on the shapes.
  const rareEarths = await page.$$eval('#f-element optgroup[label="Rare earths"] option', (o) => o.map((x) => x.value));
  const expected = expectedTotals(all, f.element, rareEarths);
  const rows = await cells(page, 'table-countries');
  assert.deepEqual(rows.map((r) => r.key).sort(), [...expected.keys()].sort(), 'a row per country of the answer');
  for (const r of rows) {
    const e = expected.get(r.key);
    assert.equal(r.cells[0].value, e.in_deposits, `${r.key}: in deposits`);
    if (e.uncertainty !== null) assert.equal(r.cells[1].value, e.uncertainty, `${r.key}: its uncertainty`);
    // Deposits with an assay of the element: the answer's count, or for the rare earths
    // together those of the GeoJSON with any of them.
    const assayed = everywhere.features.filter((d) => d.properties.location.country === r.key &&
      d.properties.content.some((c) => (f.element ? c.element === f.element : rareEarths.includes(c.element)))).length;
    assert.equal(r.cells[2].value, f.element ? e.deposits : assayed, `${r.key}: deposits`);
    if (f.element) assert.equal(e.deposits, assayed, `${r.key}: the answer counts the deposits with an assay of ${f.element}`);
    assertFigure(r.cells[3], e.stock_in_use, `${r.key}: stock in use`);
    assertFigure(r.cells[4], e.end_of_life, `${r.key}: end of life`);
    const shape = m.countries.find((c) => c.code === r.key);
    if (!shape) continue; // too small for 1:110m (Malta, ...)
    assert.match(shape.cls, e.in_deposits > 0 ? /\bq[1-5]\b/ : /\bnone\b/, `${r.key} is shaded by its deposits`);
    const circle = m.circles.find((c) => c.country === r.key);
    if (e.stock_in_use.suppressed) assert.ok(circle && circle.suppressed && circle.value === null, `${r.key}: a withheld stock is marked so`);
    else if (e.stock_in_use.value > 0) assert.equal(circle && circle.value, e.stock_in_use.value, `${r.key}: the urban mine's circle`);
    else assert.equal(circle, undefined, `${r.key}: no circle without a stock`);
  }
  // Darker classes hold more: compare the classes of the countries with deposits.
  const shaded = rows.filter((r) => r.cells[0].value > 0).map((r) => [r.cells[0].value, m.countries.find((c) => c.code === r.key)])
    .filter(([, c]) => c).map(([v, c]) => [v, Number(c.cls.match(/\bq([1-5])\b/)[1])]).sort((a, b) => a[0] - b[0]);
  shaded.forEach(([, q], i) => { if (i > 0) assert.ok(q >= shaded[i - 1][1], 'classes grow with the content'); });
  return { geo, all, map: m };
}

// ---- the chart -----------------------------------------------------------------------------

async function assertChartMatchesApi(page, key) {
  const f = await page.evaluate(() => ({ element: document.getElementById('f-element').value, country: document.getElementById('f-country').value }));
  const year = await page.inputValue('#f-secondary-year');
  const answer = await api('/api/v1/stock/secondary-resources' + qs({ year, element: f.element, country: f.country }), key);
  assert.equal(String(answer.year), year, 'the chart\'s year');
  const expected = f.country ? answer.rows.filter((r) => r.country === f.country) : answer.totals;
  assert.ok(expected.length > 0, 'the answer has rows');
  const rows = await cells(page, 'table-secondary');
  assert.deepEqual(rows.map((r) => r.key), expected.map((r) => r.element), 'a row per element, in the answer\'s order');
  expected.forEach((r, i) => {
    const [stock, eol, dep, u, n] = rows[i].cells;
    assertFigure(stock, r.stock_in_use, `${r.element} stock in use`);
    assertFigure(eol, r.end_of_life, `${r.element} end of life`);
    assert.equal(dep.value, r.in_deposits.value, `${r.element} in deposits`);
    assert.equal(u.value, r.in_deposits.uncertainty, `${r.element} its uncertainty`);
    assert.equal(n.value, r.in_deposits.deposits, `${r.element} deposits`);
  });
  const chart = await page.evaluate(() => {
    const svg = document.querySelector('#chart-secondary svg');
    // A bar's length along the value axis: its height across, its width when the rows run down.
    const along = svg.dataset.layout === 'down' ? 'width' : 'height';
    const read = (sel) => [...svg.querySelectorAll(sel)].map((e) => ({ element: e.dataset.element, series: e.dataset.series,
      value: e.dataset.value === undefined ? null : Number(e.dataset.value),
      uncertainty: e.dataset.uncertainty === undefined ? null : Number(e.dataset.uncertainty),
      length: e.getAttribute(along) === null ? null : Number(e.getAttribute(along)) }));
    return { bars: read('rect.bar[data-element]'), withheld: read('text.suppressed-mark[data-element]'),
      zeros: read('text.zero-mark'), whiskers: read('path.whisker') };
  });
  const key3 = (x) => x.element + '/' + x.series;
  for (const r of expected) {
    for (const series of ['stock_in_use', 'end_of_life', 'in_deposits']) {
      const figure = r[series];
      const what = `${r.element} ${series}`;
      const bar = chart.bars.find((b) => key3(b) === r.element + '/' + series);
      const mark = chart.withheld.find((b) => key3(b) === r.element + '/' + series);
      const zero = chart.zeros.find((b) => key3(b) === r.element + '/' + series);
      if (figure.suppressed) {
        assert.ok(mark && !bar && !zero, `${what}: withheld, a × and no bar`);
      } else if (typeof figure.value !== 'number') {
        assert.ok(!mark && !bar && !zero, `${what}: undefined, nothing drawn`);
      } else if (figure.value > 0) {
        assert.ok(bar && !mark, `${what}: a bar`);
        assert.equal(bar.value, figure.value, `${what}: the bar's value`);
        assert.ok(bar.length > 0, `${what}: the bar has a length`);
      } else {
        assert.ok(zero && !bar && !mark, `${what}: 0 written, no bar`);
      }
    }
    const whisker = chart.whiskers.find((w) => w.element === r.element);
    if (r.in_deposits.value > 0 && r.in_deposits.uncertainty > 0) {
      assert.equal(whisker && whisker.uncertainty, r.in_deposits.uncertainty, `${r.element}: the whisker is the uncertainty`);
    } else {
      assert.equal(whisker, undefined, `${r.element}: no whisker`);
    }
  }
  // Bars are drawn to scale: of two published values, the larger bar is the longer.
  const drawn = chart.bars.filter((b) => b.value > 0).sort((a, b) => a.value - b.value);
  drawn.forEach((b, i) => { if (i > 0 && b.value > drawn[i - 1].value) assert.ok(b.length >= drawn[i - 1].length, 'lengths follow the values'); });
  return answer;
}

// ---- run ------------------------------------------------------------------------------

async function checkSecondary(context) {
  const ids = await recordDeposits();

  await test('map asset: the boundaries are served from the binary, cacheable, as TopoJSON', async () => {
    const answer = await call('GET', BOUNDARIES);
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('content-type'), /^application\/json/);
    assert.match(answer.headers.get('cache-control'), /max-age=31536000/);
    assert.equal(answer.body.type, 'Topology');
    assert.ok(answer.body.objects.countries.geometries.length > 170);
  });

  const page = await open(context, '/dashboard');
  await page.click('#public-view');
  await ready(page);

  await test('dashboard map: every country shape drawn from the embedded boundaries, Europe framed', async () => {
    const topology = await api(BOUNDARIES);
    const m = await mapState(page);
    const names = topology.objects.countries.geometries.map((g) => g.properties.name).filter((n) => n !== 'Antarctica');
    assert.deepEqual(m.countries.map((c) => c.name).sort(), names.sort(), 'a path per country of the file but Antarctica');
    assert.ok(m.countries.length > 100, `${m.countries.length} country paths`);
    assert.ok(m.countries.every((c) => c.d > 10), 'every path has an outline');
    const box = (code) => {
      const c = m.countries.find((x) => x.code === code);
      assert.ok(c, `${code} is drawn`);
      return { ...c.box, cx: c.box.x + c.box.w / 2, cy: c.box.y + c.box.h / 2 };
    };
    // France's box spans the Atlantic (French Guiana is one of its polygons): its mainland is
    // checked by the marker of the deposit recorded there (see the next test).
    assert.equal(m.countries.find((c) => c.code === 'FR').name, 'France');
    for (const code of ['DE', 'PL', 'ES', 'IT', 'GR', 'SE', 'HU']) {
      const b = box(code);
      assert.ok(b.cx > 0 && b.cx < m.view.w && b.cy > 0 && b.cy < m.view.h, `${code} lies within the frame`);
    }
    // The projection keeps the geography: east is right, north is up.
    assert.ok(box('DE').cx > box('ES').cx && box('PL').cx > box('DE').cx, 'Spain, Germany, Poland from west to east');
    assert.ok(box('SE').cy < box('DE').cy && box('GR').cy > box('DE').cy, 'Sweden above Germany, Greece below');
    const de = box('DE');
    assert.ok(de.w > 20 && de.w < m.view.w / 4, `Germany is a country's size: ${de.w.toFixed(0)} of ${m.view.w} px`);
    assertNoConsoleErrors(page);
  });

  await test('dashboard map: a marker per deposit of the GeoJSON, within its country, and the country totals of the route', async () => {
    const { geo, map } = await assertMapMatchesApi(page, null);
    for (const id of ids) {
      const d = geo.features.find((x) => x.id === id);
      assert.ok(d, `the deposit ${id} is in the GeoJSON`);
      const marker = map.markers.find((x) => x.id === id);
      assert.ok(marker.within.includes(d.properties.location.country), `${d.properties.name} is drawn in ${d.properties.location.country}: ${marker.within}`);
    }
    const hu = map.countries.find((c) => c.code === 'HU');
    assert.match(hu.title, /in deposits/, 'a country\'s title gives its deposits');
    assert.match(hu.cls, /\bq[1-5]\b/, 'Hungary is shaded: it has a deposit');
    assertNoConsoleErrors(page);
    await page.locator('#secondary').screenshot({ path: `${SHOTS}/dashboard-secondary.png` });
  });

  await test('dashboard chart: both secondary resources per element equal the route\'s totals (published view)', async () => {
    const answer = await assertChartMatchesApi(page, null);
    assert.equal(answer.scope, 'published');
    const nd = answer.totals.find((r) => r.element === 'Nd');
    assert.ok(nd && nd.in_deposits.value > 0 && nd.in_deposits.deposits >= DEPOSITS.length, 'Nd in the recorded deposits');
    assertNoConsoleErrors(page);
  });

  await test('dashboard: the element and country filters change the map and the chart to the route\'s figures', async () => {
    await page.selectOption('#f-element', 'Nd');
    await ready(page);
    await assertMapMatchesApi(page, null);
    const nd = await assertChartMatchesApi(page, null);
    assert.deepEqual(nd.totals.map((r) => r.element), ['Nd']);
    const title = await page.$eval('#map g.deposit[data-id="' + ids[0] + '"] title', (t) => t.textContent);
    assert.match(title, /Nd [\d,]+ ± [\d,]+ kg/, 'the marker gives the deposit\'s Nd with its uncertainty');
    const countries = await page.$$eval('#f-country option', (o) => o.map((x) => x.value));
    assert.ok(countries.includes('PL'), 'Poland has an urban mine in the demo');
    await page.selectOption('#f-country', 'PL');
    await ready(page);
    const { geo } = await assertMapMatchesApi(page, null);
    assert.ok(geo.features.length > 0 && geo.features.every((d) => d.properties.location.country === 'PL'), 'the deposits of Poland');
    const pl = await assertChartMatchesApi(page, null);
    assert.ok(pl.rows.every((r) => r.country === 'PL'));
    assert.match(await page.getAttribute('#map path.country[data-country="PL"]', 'class'), /\bselected\b/);
    await page.selectOption('#f-country', '');
    await ready(page);
    await page.selectOption('#f-element', '');
    await ready(page);
    assertNoConsoleErrors(page);
  });

  await test('dashboard: the urban mine\'s year changes the chart to that year\'s figures', async () => {
    const year = Number(await page.inputValue('#f-secondary-year'));
    await page.fill('#f-secondary-year', String(year - 3));
    await page.press('#f-secondary-year', 'Enter');
    await page.waitForFunction(() => document.getElementById('secondary').dataset.state === 'ready' &&
      document.getElementById('caption-secondary').textContent.includes(document.getElementById('f-secondary-year').value));
    const answer = await assertChartMatchesApi(page, null);
    assert.equal(answer.year, year - 3);
    await assertMapMatchesApi(page, null);
    assertNoConsoleErrors(page);
  });

  await test('dashboard: 360 px wide, the map and chart fit without horizontal scroll', async () => {
    await page.setViewportSize({ width: 360, height: 780 });
    await page.reload({ waitUntil: 'load' });
    await ready(page);
    const fit = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
      map: document.querySelector('#map svg').getBoundingClientRect().right,
      chart: document.querySelector('#chart-secondary svg').getBoundingClientRect().right,
    }));
    assert.ok(fit.scroll <= fit.client, `scrollWidth ${fit.scroll} > clientWidth ${fit.client}`);
    assert.ok(fit.map <= fit.client && fit.chart <= fit.client, 'map and chart within the viewport');
    assert.equal(await page.getAttribute('#chart-secondary svg', 'data-layout'), 'down', 'the elements run down on a phone');
    const labels = await page.$$eval('#chart-secondary text.tick', (ts) => ts.filter((t) => /^[A-Z][a-z]?$/.test(t.textContent))
      .map((t) => { const b = t.getBoundingClientRect(); return { top: b.top, bottom: b.bottom }; }));
    labels.forEach((a, i) => { if (i > 0) assert.ok(a.top >= labels[i - 1].bottom - 0.5, 'element labels do not overlap'); });
    await assertMapMatchesApi(page, null);
    await assertChartMatchesApi(page, null);
    assertNoConsoleErrors(page);
    await page.locator('#secondary').screenshot({ path: `${SHOTS}/dashboard-secondary-360.png` });
  });
  await page.close();

  await test('dashboard: a regulator\'s key shows every urban-mine figure, as the route answers the regulator', async () => {
    const authority = await open(context, '/dashboard');
    await authority.fill('#api-key', keys.regulator);
    await authority.click('#key-form button[type="submit"]');
    await ready(authority);
    const answer = await assertChartMatchesApi(authority, keys.regulator);
    assert.equal(answer.scope, 'all');
    await assertMapMatchesApi(authority, keys.regulator);
    assert.equal(await authority.$$eval('#secondary td.suppressed', (t) => t.length), 0, 'nothing withheld');
    assertNoConsoleErrors(authority);
    await authority.close();
  });
}

const context = await chromium.launchPersistentContext(process.env.USER_DATA_DIR + '-deposits', {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
});
try {
  await checkSecondary(context);
} catch (error) {
  results.push({ name: 'setup', ok: false });
  console.log('FAIL setup\n     ' + String(error && error.stack || error));
} finally {
  await context.close();
}
const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
