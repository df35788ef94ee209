// End-to-end tests of the passport page and the regulator dashboard in headless Chromium.
// Started by run.sh, which serves `reetrace demo` data at BASE_URL as shipped (disclosure
// control with k = 3) and passes the demo's keys in DEMO_JSON. Every figure a page shows is
// compared with what the API answers: published figures are equal numbers, withheld ones are
// marked "suppressed", never shown as zero.
import { readFileSync } from 'node:fs';
import { strict as assert } from 'node:assert';
import { chromium } from 'playwright-core';
import { checkScenarios } from './scenarios.mjs';

const BASE = process.env.BASE_URL;
const demo = JSON.parse(readFileSync(process.env.DEMO_JSON, 'utf8'));
const SHOTS = process.env.SCREENSHOTS;
const keys = {
  admin: demo.keys.admin,
  regulator: demo.keys.regulator,
  manufacturer: demo.keys.manufacturer.api_key,
  recycler: demo.keys.recycler.api_key,
};

async function api(path, key, accept = 'application/json') {
  const headers = { Accept: accept };
  if (key) headers.Authorization = 'Bearer ' + key;
  const response = await fetch(BASE + path, { headers });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  return accept.includes('json') ? response.json() : response.text();
}

const qs = (params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== undefined && v !== null) q.set(k, v);
  const s = q.toString();
  return s ? '?' + s : '';
};

// The stock projections catch up with the feeds after a server starts: wait until the totals
// stop changing.
async function settledStock() {
  let last = null;
  for (let i = 0; i < 120; i++) {
    const a = await api('/api/v1/stock/flows?group_by=', keys.admin);
    const now = JSON.stringify(a.totals);
    if (now === last && a.totals.length > 0) return;
    last = now;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the stock figures did not settle');
}

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

// A page that records console errors and uncaught exceptions; `allowed` lists messages that
// a test expects (refused API calls the page reports to the user).
async function open(context, path, { width = 1280, height = 900, base = BASE } = {}) {
  const page = await context.newPage();
  await page.setViewportSize({ width, height });
  page.errors = [];
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  page.on('pageerror', (e) => page.errors.push('uncaught: ' + e.message));
  page.on('response', (r) => { if (r.status() >= 400) page.errors.push(`(HTTP ${r.status()} for ${r.url()})`); });
  const response = await page.goto(base + path, { waitUntil: 'load' });
  assert.equal(response.status(), 200, path);
  return page;
}

function assertNoConsoleErrors(page, allowed = []) {
  // Refused requests show up twice: as a console error and (with their URL) as a response.
  const unexpected = page.errors.filter((e) => !allowed.some((re) => re.test(e)));
  assert.deepEqual(unexpected, [], 'console errors and failed requests');
}

async function assertNoHorizontalScroll(page, what) {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  assert.ok(scrollWidth <= clientWidth, `${what}: scrollWidth ${scrollWidth} > clientWidth ${clientWidth} at 360 px`);
}

const shot = (page, name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

// Reads a table body as [{key: rowKey, cells: [{value, suppressed, text}]}].
async function tableRows(page, id) {
  return page.$$eval(`#${id} tbody tr`, (rows) => rows.map((tr) => ({
    year: tr.dataset.year, source: tr.dataset.source, target: tr.dataset.target,
    cells: [...tr.querySelectorAll('td')].filter((td) => td.classList.contains('num')).map((td) => ({
      value: td.dataset.value === undefined ? null : Number(td.dataset.value),
      suppressed: td.dataset.suppressed === 'true',
      text: td.textContent,
    })),
  })));
}

// A cell shows the API's figure: its exact value, "suppressed", or "–" when undefined.
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

// ---- the passport page ----------------------------------------------------------------

async function passportWithCustody() {
  let cursor = null;
  const seen = {};
  for (let pages = 0; pages < 20; pages++) {
    const list = await api('/api/v1/passports' + qs({ limit: 100, cursor }), keys.admin);
    for (const p of list.items) {
      if (p.granularity !== 'item') continue;
      const res = await fetch(`${BASE}/api/v1/custody/${p.id}`, { headers: { Authorization: 'Bearer ' + keys.recycler } });
      const scan = res.ok ? await res.json() : null;
      const seenAs = res.ok ? `${scan.events.length} events` : `HTTP ${res.status}`;
      seen[seenAs] = (seen[seenAs] || 0) + 1;
      if (scan && scan.events.length >= 3) return { passport: p, scan };
    }
    cursor = list.next_cursor;
    if (!cursor) break;
  }
  throw new Error('no demo passport has a custody chain: ' + JSON.stringify(seen));
}

async function checkPassportPage(context, target) {
  const { passport, scan } = target;
  const path = new URL(passport.uri).pathname;
  const credential = await api(path, null, 'application/json');
  const subject = credential.credentialSubject;
  // v1 names its issuer as a string and lists rare earths under ree_content; v2 (UNTP) has
  // issuer {id, name} and every element in materialsProvenance, the page showing the rare earths.
  const issuer = typeof credential.issuer === 'string' ? credential.issuer : credential.issuer.id;
  const rareEarths = ['Sc', 'Y', 'La', 'Ce', 'Pr', 'Nd', 'Pm', 'Sm', 'Eu', 'Gd', 'Tb', 'Dy', 'Ho', 'Er', 'Tm', 'Yb', 'Lu'];
  const elements = subject.ree_content
    ? subject.ree_content.elements
    : subject.materialsProvenance
      .filter((m) => rareEarths.includes(m.materialType.code))
      .map((m) => ({ element: m.materialType.code, mass_g: m['ree:massGrams'] }));

  await test('passport page: public view shows identity, badge, REE table and chart, no console errors', async () => {
    const page = await open(context, path);
    assert.equal(await page.textContent('h1'), subject.product.name);
    const badge = await page.textContent('#verification-h + ul');
    assert.match(badge, /Signature valid/);
    assert.match(badge, /Status: active/);
    assert.ok(badge.includes(issuer), 'the issuer is named');
    assert.equal(await page.$('figure.photo'), null, 'no photo card: a passport carries no photo');
    const rows = await page.$$eval('#ree-content table tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    assert.equal(rows.length, elements.length);
    elements.forEach((e, i) => {
      assert.equal(rows[i][0], e.element, 'symbol');
      assert.equal(Number(rows[i][2]), e.mass_g, `mass of ${e.element}`);
    });
    const bars = await page.$$('#ree-content svg .bar');
    assert.equal(bars.length, elements.length, 'a bar per element');
    assert.match(await page.textContent('#ree-content svg'), /Mass \(g\)/);
    assert.equal(await page.textContent('#access-tier'), 'public');
    assert.ok(await page.isVisible('#key-form'), 'the key form is shown');
    assert.match(await page.textContent('#components'), /shown to recyclers and authorities/);
    for (const link of ['credential', 'versions', 'qr.svg']) {
      assert.ok(await page.$(`.links a[href$="${link}"]`), `link to ${link}`);
    }
    const images = await page.$$eval('svg[role="img"]', (svgs) => svgs.every((s) => s.getAttribute('aria-labelledby')));
    assert.ok(images, 'every SVG image has a text alternative');
    assertNoConsoleErrors(page);
    await shot(page, 'passport-public-desktop');
    await page.close();
  });

  await test('passport page: a recycler key shows the custody timeline and where the magnets are; kept for the session', async () => {
    const page = await open(context, path, { width: 360, height: 780 });
    await page.fill('#api-key', keys.recycler);
    await page.click('#key-form button[type="submit"]');
    await page.waitForSelector('#custody-timeline li');
    const items = await page.$$eval('#custody-timeline li', (lis) => lis.map((li) => li.dataset.eventId));
    assert.deepEqual(items, scan.events.map((e) => e.event_id), 'the events of the custody API, in order');
    const states = { in_use: 'in use' };
    assert.equal(await page.textContent('#custody-state-value'), states[scan.custody.state] || scan.custody.state);
    const detailed = await api(`/api/v1/passports/${passport.id}`, keys.recycler);
    assert.equal(detailed.tier, 'professional');
    assert.equal(await page.textContent('#access-tier'), 'professional');
    assert.equal(await page.textContent('#footer-tier'), 'professional', 'the footer names the key\'s tier too');
    const component = detailed.component_details.components[0];
    const card = await page.textContent('#components-list .card');
    assert.ok(card.includes(component.location), 'where the magnets are');
    assert.ok(card.includes(component.removal), 'how to take them out');
    assert.equal(await page.isVisible('#key-form'), false, 'the key is asked for once');
    assertNoConsoleErrors(page);
    await assertNoHorizontalScroll(page, 'passport page with timeline');
    await shot(page, 'passport-recycler-360');
    // Same tab, next page load: the key is still there, nothing to type.
    await page.reload({ waitUntil: 'load' });
    await page.waitForSelector('#custody-timeline li');
    assert.equal(await page.$$eval('#custody-timeline li', (l) => l.length), scan.events.length);
    await page.click('#key-forget');
    await page.waitForLoadState('load');
    await page.waitForSelector('#key-form:not([hidden])');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('reetrace.apiKey')), null);
    assertNoConsoleErrors(page);
    await page.close();
  });

  await test('passport page: tiers apply (a manufacturer key may not read custody)', async () => {
    const page = await open(context, path, { width: 360, height: 780 });
    await page.fill('#api-key', keys.manufacturer);
    await page.click('#key-form button[type="submit"]');
    await page.waitForFunction(() => /may not read custody/.test(document.getElementById('custody-status').textContent));
    assert.equal(await page.isVisible('#custody-timeline'), false);
    const owns = passport.org_id === demo.keys.manufacturer.org_id;
    assert.equal(await page.textContent('#access-tier'), owns ? 'owner' : 'public', 'another manufacturer sees the public tier');
    assertNoConsoleErrors(page, [/status of 403/, /HTTP 403 for .*\/api\/v1\/custody\//]);
    await page.close();
  });

  await test('passport page: 360 px wide, public, no horizontal scroll', async () => {
    const page = await open(context, path, { width: 360, height: 780 });
    await assertNoHorizontalScroll(page, 'passport page');
    assertNoConsoleErrors(page);
    await shot(page, 'passport-public-360');
    await page.close();
  });
}

// A motor registered with its magnets and removal steps (the schema example of
// docs/credential.md section 5): its page shows the magnets by type and the responsible
// operator to everyone, each magnet and the removal sequence once a recycler key is entered,
// as the server renders them for the same key.
async function checkMagnetPage(context) {
  const example = new URL('../../schemas/examples/valid/item-ev-traction-motor-with-magnets.json', import.meta.url);
  const motor = JSON.parse(readFileSync(example, 'utf8'));
  motor.product.serial = 'PAGES-MAGNETS-1';
  // Its recycled source names a lot this instance's custody does not hold.
  delete motor.ree_content.components[0].magnets[0].recycled_sources;
  // Its GTIN (04012345000016) is under the GS1 Company Prefix 4012345: the admin gives it to
  // the demo manufacturer first.
  const prefix = await fetch(BASE + `/api/v1/orgs/${demo.keys.manufacturer.org_id}/gs1-prefixes`, {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + keys.admin, 'Content-Type': 'application/json' },
    body: JSON.stringify({ prefix: '4012345' }),
  });
  assert.equal(prefix.status, 201, await prefix.text());
  const response = await fetch(BASE + '/api/v1/passports', {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + keys.manufacturer, 'Content-Type': 'application/json' },
    body: JSON.stringify(motor),
  });
  const issued = await response.json();
  assert.equal(response.status, 201, JSON.stringify(issued));
  const path = new URL(issued.uri).pathname;
  // Each magnet's heading and facts, and each removal step, as text.
  const detail = (page, root) => page.evaluate((root) => ({
    magnets: [...document.querySelectorAll(`${root} .magnet`)]
      .map((m) => m.querySelector('h4').textContent + ' | ' + m.querySelector('dl').textContent),
    steps: [...document.querySelectorAll(`${root} ol.steps > li`)].map((li) => li.textContent),
  }), root);

  await test('passport page: magnets by type and the responsible operator for everyone, each magnet and the removal sequence for a recycler key', async () => {
    const page = await open(context, path, { width: 360, height: 780 });
    assert.match(await page.textContent('#magnets tbody'), /NdFeB \(neodymium-iron-boron\), sintered\s*24\s*1680/);
    assert.match(await page.textContent('#responsible address'), /Industriestraße 12.*55411 Bingen am Rhein.*Germany/s);
    assert.deepEqual(await detail(page, '#components'), { magnets: [], steps: [] }, 'no magnet detail without a key');
    await page.fill('#api-key', keys.recycler);
    await page.click('#key-form button[type="submit"]');
    await page.waitForSelector('#components-list .magnet');
    const scripted = await detail(page, '#components-list');
    const details = (await api(`/api/v1/passports/${issued.id}`, keys.recycler)).component_details;
    const magnets = details.components[0].magnets;
    assert.equal(scripted.magnets.length, magnets.length);
    magnets.forEach((m, i) => {
      for (const fact of [`${m.count} × ${m.unit_mass_g} g`, m.grade, m.temperature_class, m.position]) {
        assert.ok(scripted.magnets[i].includes(fact), `${fact} in ${scripted.magnets[i]}`);
      }
    });
    assert.equal(scripted.steps.length, details.removal_steps.length);
    assert.match(scripted.steps[0], /^Unscrew.*screwdriver, torx T30.*3 min/);
    assert.match(scripted.steps[4], /Frees the magnetsouter, inner/);
    assertNoConsoleErrors(page);
    await assertNoHorizontalScroll(page, 'passport page with magnets');
    await shot(page, 'passport-magnets-recycler-360');
    await page.close();

    // The server renders the same detail for a request that carries the key (at the page's
    // link type: the public page of the plain path may be in the browser's cache).
    const server = await context.newPage();
    await server.setExtraHTTPHeaders({ Authorization: 'Bearer ' + keys.recycler });
    await server.goto(`${BASE}${path}?linkType=gs1:pip`, { waitUntil: 'load' });
    assert.deepEqual(await detail(server, '#components'), scripted);
    await server.close();
  });
}

// ---- the dashboard --------------------------------------------------------------------

async function signIn(page, key) {
  await page.fill('#api-key', key);
  await page.click('#key-form button[type="submit"]');
}

const ready = (page) => page.waitForFunction(() => document.body.dataset.state === 'ready');

async function filtersOf(page) {
  return page.evaluate(() => ({
    element: document.getElementById('f-element').value,
    category: document.getElementById('f-category').value,
    country: document.getElementById('f-country').value,
    year_from: document.getElementById('f-from').value,
    year_to: document.getElementById('f-to').value,
  }));
}

// Every figure the dashboard shows equals what the stock API answers for its filters, read with
// `key` (none: the published statistics).
async function assertDashboardMatchesApi(page, key = null) {
  const f = await filtersOf(page);
  const sankeyYear = await page.inputValue('#f-sankey-year');
  const [stock, indicators, sankey] = await Promise.all([
    api('/api/v1/stock/flows' + qs({ flow: 'stock_in_use', basis: 'modelled', group_by: 'year', ...f }), key),
    api('/api/v1/stock/indicators' + qs(f), key),
    api('/api/v1/stock/sankey' + qs({ year: sankeyYear, element: f.element, category: f.category, country: f.country }), key),
  ]);
  const stockRows = await tableRows(page, 'table-stock');
  assert.equal(stockRows.length, stock.rows.length, 'stock rows');
  stock.rows.forEach((r, i) => {
    assert.equal(Number(stockRows[i].year), r.year);
    assertFigure(stockRows[i].cells[0], r, `stock in use ${r.year}`);
  });
  const eolRows = await tableRows(page, 'table-eol');
  assert.equal(eolRows.length, indicators.rows.length, 'end-of-life rows');
  indicators.rows.forEach((r, i) => {
    assertFigure(eolRows[i].cells[0], r.eol_generated, `EOL generated ${r.year}`);
    assertFigure(eolRows[i].cells[1], r.collected, `collected ${r.year}`);
    assertFigure(eolRows[i].cells[2], r.recycled, `recycled ${r.year}`);
  });
  const indicatorRows = await tableRows(page, 'table-indicators');
  indicators.rows.forEach((r, i) => {
    assertFigure(indicatorRows[i].cells[0], r.placed_on_market, `placed on market ${r.year}`);
    assertFigure(indicatorRows[i].cells[1], r.collection_rate, `collection rate ${r.year}`);
    assertFigure(indicatorRows[i].cells[3], r.eol_recycling_rate, `EOL recycling rate ${r.year}`);
  });
  if (indicators.rows.length) {
    const tileYear = Number(await page.$eval('.tile[data-indicator="collection_rate"]', (t) => t.dataset.year));
    const last = indicators.rows.find((r) => r.year === tileYear);
    assert.ok(last && (!stock.model || tileYear <= stock.model.last_observed), 'tiles show an observed year');
    // ... the last one with the most published tile figures (all of them, if a year has
    // them all): never a year whose tiles all say "suppressed" while another has figures.
    const tileNames = await page.$$eval('.tile', (t) => t.map((x) => x.dataset.indicator));
    const observed = indicators.rows.filter((r) => !stock.model || r.year <= stock.model.last_observed);
    const count = (r) => tileNames.filter((n) => !r[n].suppressed).length;
    const most = Math.max(...observed.map(count));
    const expected = observed.filter((r) => count(r) === most).pop();
    assert.equal(tileYear, expected.year, 'tiles show the last observed year with the most published figures');
    if (most > 0) assert.ok(count(last) > 0, `the tiles of ${tileYear} are not all suppressed`);
    for (const name of tileNames) {
      const tile = await page.$eval(`.tile[data-indicator="${name}"]`, (t) => ({ value: t.dataset.value, suppressed: t.classList.contains('suppressed'), text: t.querySelector('.tile-value').textContent }));
      if (last[name].suppressed) assert.ok(tile.suppressed && tile.value === undefined && tile.text === 'suppressed', `tile ${name}: suppressed`);
      else if (last[name].value === null) assert.ok(tile.value === undefined && tile.text === '–', `tile ${name}: undefined`);
      else assert.equal(Number(tile.value), last[name].value, `tile ${name}`);
    }
  }
  const links = await tableRows(page, 'table-sankey');
  assert.equal(links.length, sankey.links.length, 'Sankey links');
  sankey.links.forEach((l, i) => {
    assert.equal(links[i].source, l.source);
    assert.equal(links[i].target, l.target);
    assertFigure(links[i].cells[0], l, `${l.source} → ${l.target}`);
  });
  const ribbons = await page.$$eval('#chart-sankey path.link', (p) => p.map((x) => ({ value: x.dataset.value, suppressed: x.classList.contains('suppressed') })));
  assert.equal(ribbons.length, sankey.links.length, 'a ribbon per link');
  const ribbonValues = ribbons.filter((r) => !r.suppressed && r.value !== undefined).map((r) => Number(r.value)).sort((a, b) => a - b);
  const linkValues = sankey.links.filter((l) => !l.suppressed && typeof l.value === 'number').map((l) => l.value).sort((a, b) => a - b);
  assert.deepEqual(ribbonValues, linkValues, 'the published ribbons carry the API values');
  assert.equal(ribbons.filter((r) => r.suppressed).length, sankey.links.filter((l) => l.suppressed).length, 'withheld links are drawn as such');
  assert.ok(ribbons.filter((r) => r.suppressed).every((r) => r.value === undefined), 'no value behind a withheld link');
  // A node whose links on both sides are all withheld says "suppressed", never a mass.
  const hidden = new Set();
  for (const node of new Set(sankey.links.flatMap((l) => [l.source, l.target]))) {
    const incident = sankey.links.filter((l) => l.source === node || l.target === node);
    const side = (pick) => incident.filter(pick);
    const ins = side((l) => l.target === node);
    const outs = side((l) => l.source === node);
    const open = (ls) => ls.length > 0 && ls.every((l) => !l.suppressed);
    if (!open(ins) && !open(outs)) hidden.add(node);
  }
  const nodeValues = await page.$$eval('#chart-sankey text.node-label', (ts) => ts.map((t) => t.querySelector('.node-value').textContent));
  const suppressedNodes = nodeValues.filter((v) => v === 'suppressed').length;
  assert.equal(suppressedNodes, hidden.size, `nodes without a published side say suppressed: ${nodeValues}`);
  // The values of the Sankey's year: the same rows as the values route, a withheld mass never
  // with a value, an element without a price saying so.
  const values = await api('/api/v1/stock/values' + qs({ year_from: sankeyYear, year_to: sankeyYear, basis: 'both',
    currency: 'EUR', element: f.element, category: f.category, country: f.country }), key);
  const valued = [['placed_on_market', 'observed'], ['stock_in_use', 'modelled'], ['eol_generated', 'modelled'], ['recycled', 'observed']]
    .flatMap(([flow, basis]) => values.rows.filter((r) => r.flow === flow && r.basis === basis));
  const valueRows = await tableRows(page, 'table-values');
  assert.equal(valueRows.length, valued.length, 'value rows');
  assert.ok(valued.length > 0, 'the year has valued flows');
  valued.forEach((r, i) => {
    const what = `${r.element} ${r.flow} ${sankeyYear}`;
    assertFigure(valueRows[i].cells[0], r.mass_kg, `${what} mass`);
    const worth = valueRows[i].cells[1];
    if (r.worth.suppressed) assert.ok(worth.suppressed && worth.value === null, `${what}: value withheld`);
    else if (r.worth.value === null) assert.equal(worth.text, 'no price', `${what}: no price`);
    else assert.equal(worth.value, r.worth.value, `${what}: value`);
    if (r.mass_kg.suppressed) assert.ok(worth.suppressed, `${what}: a withheld mass has a withheld value`);
  });
  // The categories ranked in the same year: the API's rows in its order, a value per tonne
  // only where the API publishes one, and never a rank for a withheld one.
  const ranking = await api('/api/v1/stock/values/ranking' + qs({ year: sankeyYear, currency: 'EUR', country: f.country }), key);
  assert.ok(ranking.rows.length > 0, 'the year has ranked categories');
  const rankedCategories = await page.$$eval('#table-ranking tbody tr', (rows) => rows.map((tr) => tr.dataset.category));
  assert.deepEqual(rankedCategories, ranking.rows.map((r) => r.category), 'ranking rows in the API order');
  const rankRows = await tableRows(page, 'table-ranking');
  ranking.rows.forEach((r, i) => {
    const what = `${r.category} ranked in ${sankeyYear}`;
    const [rank, perTonne, range, product, recovered] = rankRows[i].cells;
    assert.equal(rank.text, r.rank_per_tonne === undefined ? '–' : String(r.rank_per_tonne), `${what}: rank`);
    assertFigure(perTonne, r.eol_worth_per_t, `${what}: EUR per tonne`);
    if (typeof r.eol_product_t.value === 'number') {
      const kg = r.eol_product_t.value * 1000;
      assert.ok(Math.abs(product.value - kg) <= 1e-9 * Math.max(1, kg), `${what}: product at end of life in kg`);
    } else {
      assertFigure(product, r.eol_product_t, `${what}: product at end of life`);
    }
    if (typeof r.eol_worth_per_t.value === 'number') {
      assert.equal(range.value, r.eol_worth_per_t_min.value, `${what}: range from the least price`);
    }
    if (r.eol_worth_per_t.suppressed) assert.equal(r.rank_per_tonne, undefined, `${what}: no rank when withheld`);
    if (r.recovered_worth.suppressed) assert.ok(recovered.suppressed && recovered.value === null, `${what}: recovered withheld`);
    else if (r.recovered_worth.value === null) assert.equal(recovered.text, 'no price', `${what}: no price`);
    else assert.equal(recovered.value, r.recovered_worth.value, `${what}: recovered`);
  });
  return { stock, indicators, sankey };
}

const stockDots = (page) => page.$$eval('#chart-stock circle.dot', (c) => c.map((x) => [Number(x.dataset.year), Number(x.dataset.value)]));
const published = (rows) => rows.filter((r) => !r.suppressed && typeof r.value === 'number');
const byYear = (rows) => new Map(published(rows).map((r) => [r.year, r.value]));

// Back to the opening filters (all elements, categories, countries and years), so that a test
// does not depend on where the one before it stopped.
async function resetFilters(page) {
  const f = await filtersOf(page);
  for (const [id, name] of [['#f-element', 'element'], ['#f-category', 'category'], ['#f-country', 'country']]) {
    if (f[name] !== '') { await page.selectOption(id, ''); await ready(page); }
  }
  if (f.year_from !== '' || f.year_to !== '') {
    await page.fill('#f-from', '');
    await page.fill('#f-to', '');
    await page.press('#f-to', 'Enter');
    await ready(page);
  }
  assert.deepEqual(await filtersOf(page), { element: '', category: '', country: '', year_from: '', year_to: '' });
}

async function checkDashboard(context) {
  await test('dashboard: a manufacturer key is refused with a clear message', async () => {
    const page = await open(context, '/dashboard');
    await signIn(page, keys.manufacturer);
    await page.waitForFunction(() => document.body.dataset.state === 'refused');
    assert.match(await page.textContent('#key-status'), /regulators and administrators only/);
    assert.equal(await page.isVisible('#board'), false);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('reetrace.apiKey')), null, 'a refused key is not kept');
    assertNoConsoleErrors(page);
    await shot(page, 'dashboard-refused');
    await page.close();
  });

  await test('dashboard: a regulator\'s key shows every figure exactly, as the stock API answers the regulator', async () => {
    const page = await open(context, '/dashboard');
    await signIn(page, keys.regulator);
    await ready(page);
    const { stock, indicators, sankey } = await assertDashboardMatchesApi(page, keys.regulator);
    assert.equal(stock.scope, 'all');
    assert.ok(!stock.disclosure && !indicators.disclosure && !sankey.disclosure, 'no disclosure control for an authority');
    assert.equal(await page.$$eval('td.suppressed', (t) => t.length), 0, 'nothing withheld');
    assert.match(await page.textContent('#disclosure'), /recorded in the audit trail/);
    assertNoConsoleErrors(page);
    await shot(page, 'dashboard-regulator');
    await page.close();
  });

  await test('dashboard: when the newest observed year is withheld whole, it opens on an earlier year with published figures', async () => {
    // The published statistics as when one manufacturer alone places products in a new year:
    // every tile figure of the last observed year withheld, and (so that no year has them all)
    // the recycled-content rate withheld in every other year. The dashboard must open, tiles
    // and Sankey diagram, on the last year with the most published figures, never on the
    // withheld one (the selections before this one opened on the last observed year, or on it
    // whenever no year had every figure published).
    const tiles = ['stock_in_use', 'eol_generated', 'collection_rate', 'recovery_yield', 'eol_recycling_rate', 'recycled_content_rate'];
    const stock = await api('/api/v1/stock/flows' + qs({ flow: 'stock_in_use', basis: 'modelled', group_by: 'year' }));
    const lastObserved = stock.model.last_observed;
    let served = null;
    const fresh = await open(context, '/dashboard');
    await fresh.route('**/api/v1/stock/indicators**', async (route) => {
      const response = await route.fetch();
      const answer = await response.json();
      for (const r of answer.rows) {
        if (r.year === lastObserved) for (const name of tiles) r[name] = { suppressed: true };
        else r.recycled_content_rate = { suppressed: true };
      }
      served = answer;
      await route.fulfill({ response, json: answer });
    });
    await fresh.click('#public-view');
    await ready(fresh);
    const observed = served.rows.filter((r) => r.year <= lastObserved);
    const count = (r) => tiles.filter((n) => !r[n].suppressed).length;
    assert.ok(observed.some((r) => r.year < lastObserved && count(r) > 0), 'the data has an earlier year with published figures');
    const tileYear = Number(await fresh.$eval('.tile', (t) => t.dataset.year));
    assert.notEqual(tileYear, lastObserved, `the tiles do not open on ${lastObserved}, whose figures are all withheld`);
    const most = Math.max(...observed.map(count));
    assert.equal(tileYear, observed.filter((r) => count(r) === most).pop().year, 'the last year with the most published figures');
    const shown = await fresh.$$eval('.tile', (t) => t.filter((x) => !x.classList.contains('suppressed')).length);
    assert.ok(shown > 0, `the tiles of ${tileYear} are not all suppressed`);
    assert.equal(Number(await fresh.inputValue('#f-sankey-year')), tileYear, 'the Sankey diagram opens on the same year');
    assertNoConsoleErrors(fresh);
    await fresh.close();
  });

  const page = await open(context, '/dashboard');
  let allStock = null;
  let openingYear = null;
  await test('dashboard: without a key, the published statistics: charts whose figures equal the stock API, forecast dashed, opening on a published year', async () => {
    await page.click('#public-view');
    await ready(page);
    const { stock, indicators, sankey } = await assertDashboardMatchesApi(page);
    assert.equal(indicators.disclosure.k, 3, 'the server runs as shipped');
    assert.equal(stock.scope, 'published');
    assert.ok(stock.model, 'the stock is modelled');
    assert.ok(stock.rows.some((r) => r.year > stock.model.last_observed), 'the default range reaches into the forecast');
    // The stock of all categories together is published up to the first year one of them is
    // withheld (the demo's wind generators are dominated by one maker in some years), and
    // withheld from then on: the caption says from when and why.
    const firstWithheld = stock.rows.findIndex((r) => r.suppressed);
    assert.ok(published(stock.rows).length > 0, 'the stock in use has published years');
    if (firstWithheld >= 0) {
      assert.ok(stock.rows.slice(firstWithheld).every((r) => r.suppressed), 'withheld years never precede published ones');
      assert.match(await page.textContent('#caption-stock'), new RegExp(`Withheld from ${stock.rows[firstWithheld].year} on`));
    }
    allStock = byYear(stock.rows);
    assert.deepEqual(await stockDots(page), published(stock.rows).map((r) => [r.year, r.value]), 'a point per published year at the API value');
    const observed = indicators.rows.filter((r) => r.year <= stock.model.last_observed);
    assert.ok(observed.every((r) => typeof r.placed_on_market.value === 'number'), 'placed on the market is published every observed year');
    if (published(stock.rows).some((r) => r.year > stock.model.last_observed)) {
      const dash = await page.$eval('#chart-stock path.series.forecast', (p) => getComputedStyle(p).strokeDasharray);
      assert.notEqual(dash, 'none', 'the forecast is dashed');
    }
    const observedDash = await page.$eval('#chart-stock path.series:not(.forecast)', (p) => getComputedStyle(p).strokeDasharray);
    assert.equal(observedDash, 'none', 'the observed part is solid');
    for (const id of ['chart-stock', 'chart-eol', 'chart-rates']) {
      const titles = await page.$$eval(`#${id} .axis-title`, (t) => t.map((x) => x.textContent));
      assert.ok(titles.includes('Year'), `${id}: x axis title`);
      assert.ok(titles.some((t) => /\((kg|%)\)/.test(t)), `${id}: y axis title with its unit`);
    }
    // The tiles and the Sankey diagram open on the same year: observed, with published figures.
    openingYear = Number(await page.inputValue('#f-sankey-year'));
    assert.equal(Number(await page.$eval('.tile', (t) => t.dataset.year)), openingYear, 'the Sankey diagram opens on the tiles\' year');
    assert.equal(sankey.year, openingYear);
    assert.equal(sankey.links.filter((l) => l.suppressed).length, 0, `every flow of ${openingYear} is published`);
    const ribbons = await page.$$eval('#chart-sankey path.link', (p) => p.filter((x) => x.dataset.value).length);
    assert.ok(ribbons > 3, 'the Sankey diagram has flows');
    assertNoConsoleErrors(page);
    await shot(page, 'dashboard-desktop');
    await page.locator('#sankey').screenshot({ path: `${SHOTS}/dashboard-sankey.png` });
  });

  await test('dashboard: withheld cells are shown as suppressed, never as zero', async () => {
    const { stock, indicators, sankey } = await assertDashboardMatchesApi(page);
    const withheld = stock.disclosure.suppressed + indicators.disclosure.suppressed + sankey.disclosure.suppressed;
    assert.ok(withheld > 0, 'the demo data has disclosure-controlled cells');
    const cells = await page.$$eval('td.suppressed', (t) => t.map((x) => x.textContent));
    assert.ok(cells.length > 0 && cells.every((t) => t === 'suppressed'), 'tables say suppressed');
    const marks = await page.$$('#chart-stock .suppressed-mark, #chart-eol .suppressed-mark');
    assert.ok(marks.length > 0, 'the charts mark withheld figures');
    const zeroForWithheld = await page.$$eval('td.suppressed[data-value]', (t) => t.length);
    assert.equal(zeroForWithheld, 0, 'no value behind a withheld cell');
    assert.match(await page.textContent('#disclosure'), /fewer than 3 organisations/);
    assert.match(await page.textContent('#disclosure'), new RegExp(`${withheld} figures are withheld`));
    assertNoConsoleErrors(page);
    await shot(page, 'dashboard-suppressed');
  });

  await test('dashboard: the element and category filters change the charts to the API figures', async () => {
    // At 1280 px every select shows its longest option whole (the arrow and padding aside).
    const cut = await page.$$eval('#filters select', (selects) => selects.map((s) => {
      const ctx = document.createElement('canvas').getContext('2d');
      ctx.font = getComputedStyle(s).font;
      const widest = Math.max(...[...s.options].map((o) => ctx.measureText(o.text).width));
      return widest + 36 > s.clientWidth ? `${s.id}: ${widest} px of text in ${s.clientWidth} px` : null;
    }).filter(Boolean));
    assert.deepEqual(cut, [], 'no select cuts its options at 1280 px');
    await page.selectOption('#f-element', 'Dy');
    await ready(page);
    const dy = byYear((await assertDashboardMatchesApi(page)).stock.rows);
    assert.ok(dy.size > 0, 'Dy has published stock figures');
    assert.deepEqual(await stockDots(page), [...dy], 'the stock chart shows Dy');
    for (const [year, v] of dy) assert.ok(v > 0 && (!allStock.has(year) || v < allStock.get(year)), `Dy ${year} is part of all REEs`);

    await page.selectOption('#f-element', 'Nd');
    await ready(page);
    const nd = byYear((await assertDashboardMatchesApi(page)).stock.rows);
    assert.deepEqual(await stockDots(page), [...nd], 'the stock chart shows Nd');
    for (const [year, v] of nd) assert.ok((!dy.has(year) || v > dy.get(year)) && (!allStock.has(year) || v < allStock.get(year)), `Nd ${year} above Dy, below all REEs`);

    await page.selectOption('#f-category', 'ev_traction_motor');
    await ready(page);
    const ev = await assertDashboardMatchesApi(page);
    const evStock = byYear(ev.stock.rows);
    assert.ok(evStock.size > 0, 'Nd in EV traction motors has published stock figures');
    assert.deepEqual(await stockDots(page), [...evStock], 'the stock chart shows Nd in EV traction motors');
    for (const [year, v] of evStock) assert.ok(!nd.has(year) || v < nd.get(year), `EV motors ${year} are part of Nd`);
    // Nd in EV motors is published into the forecast, dashed.
    assert.ok([...evStock.keys()].some((y) => y > ev.stock.model.last_observed), 'the EV motors\' forecast is published');
    const dash = await page.$eval('#chart-stock path.series.forecast', (p) => getComputedStyle(p).strokeDasharray);
    assert.notEqual(dash, 'none', 'the forecast is dashed');

    // A category whose modelled stock disclosure control withholds: marks, no points.
    await page.selectOption('#f-category', 'wind_turbine_generator');
    await ready(page);
    const wind = await assertDashboardMatchesApi(page);
    const windWithheld = wind.stock.rows.filter((r) => r.suppressed).length;
    assert.deepEqual(await stockDots(page), published(wind.stock.rows).map((r) => [r.year, r.value]), 'points for the published years only');
    assert.equal(await page.$$eval('#chart-stock .suppressed-mark', (m) => m.filter((x) => x.closest('.legend') === null && x.querySelector('title')).length), windWithheld, 'a mark per withheld year');
    const placed = (rows) => new Map(rows.filter((r) => typeof r.placed_on_market.value === 'number').map((r) => [r.year, r.placed_on_market.value]));
    const evPlaced = placed(ev.indicators.rows);
    const windPlaced = placed(wind.indicators.rows);
    const both = [...windPlaced.keys()].filter((y) => evPlaced.get(y) > 0 && windPlaced.get(y) > 0);
    assert.ok(both.length > 0 && both.every((y) => windPlaced.get(y) !== evPlaced.get(y)), 'placed on the market differs between the categories');
    const tableWind = await tableRows(page, 'table-indicators');
    assert.deepEqual(tableWind.filter((r) => r.cells[0].value !== null).map((r) => [Number(r.year), r.cells[0].value]), [...windPlaced], 'the table shows the wind turbines\' figures');
    assertNoConsoleErrors(page);
    await shot(page, 'dashboard-category-withheld');

    await resetFilters(page);
    assert.deepEqual(await stockDots(page), [...allStock], 'back to all REEs');
  });

  await test('dashboard: the magnet materials B, Co, Ni are offered apart and show the API figures', async () => {
    await resetFilters(page);
    const groups = await page.$$eval('#f-element optgroup', (g) => g.map((x) => [x.label, [...x.children].map((o) => o.value)]));
    assert.deepEqual(groups.map((g) => g[0]), ['Rare earths', 'Magnet materials']);
    assert.deepEqual(groups[1][1], ['B', 'Co', 'Ni']);
    assert.ok(!groups[0][1].includes('Co'), 'cobalt is not among the rare earths');
    await page.selectOption('#f-element', 'Co');
    await ready(page);
    const co = await assertDashboardMatchesApi(page);
    assert.ok(co.indicators.rows.some((r) => r.placed_on_market.value > 0), 'the demo places cobalt on the market');
    assert.equal(co.indicators.filters.element, 'Co');
    assert.match(await page.$eval('#chart-sankey', (c) => c.textContent), /Flows of Co \(magnet material\)/);
    assertNoConsoleErrors(page);
    await shot(page, 'dashboard-cobalt');
    await resetFilters(page);
    assert.deepEqual(await stockDots(page), [...allStock], 'back to all REEs');
  });

  await test('dashboard: the country filter changes the end-of-life figures to the country\'s', async () => {
    const countries = await page.$$eval('#f-country option', (o) => o.map((x) => x.value).filter(Boolean));
    assert.ok(countries.length >= 2, 'countries with figures are offered');
    await resetFilters(page);
    const all = await api('/api/v1/stock/indicators');
    const collected = (rows) => new Map(rows.filter((r) => typeof r.collected.value === 'number').map((r) => [r.year, r.collected.value]));
    const allCollected = collected(all.rows);
    let chosen = null;
    for (const country of countries) {
      const mine = collected((await api('/api/v1/stock/indicators' + qs({ country }))).rows);
      const year = [...mine.keys()].find((y) => allCollected.has(y) && mine.get(y) > 0 && mine.get(y) < allCollected.get(y));
      if (year !== undefined) { chosen = { country, year, value: mine.get(year) }; break; }
    }
    assert.ok(chosen, 'a country has a published collected figure');
    await page.selectOption('#f-country', chosen.country);
    await ready(page);
    await assertDashboardMatchesApi(page);
    const row = (await tableRows(page, 'table-eol')).find((r) => Number(r.year) === chosen.year);
    assert.equal(row.cells[1].value, chosen.value, `collected in ${chosen.country} in ${chosen.year}`);
    const bar = await page.$eval(`#chart-eol rect[data-year="${chosen.year}"][data-value="${chosen.value}"]`, (r) => r.dataset.value);
    assert.equal(Number(bar), chosen.value, 'the bar of the country\'s collected mass');
    assertNoConsoleErrors(page);
  });

  await test('dashboard: the year range and the Sankey year change the figures', async () => {
    await resetFilters(page);
    await page.fill('#f-from', '2015');
    await page.fill('#f-to', '2020');
    await page.press('#f-to', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('#table-eol tbody tr').length === 6 && document.body.dataset.state === 'ready');
    const { indicators } = await assertDashboardMatchesApi(page);
    assert.deepEqual(indicators.rows.map((r) => r.year), [2015, 2016, 2017, 2018, 2019, 2020]);
    assert.deepEqual(await stockDots(page), [...allStock].filter(([y]) => y >= 2015 && y <= 2020), 'the stock chart of 2015 to 2020');

    const sankeyYear = openingYear === 2020 ? 2019 : 2020;
    const marketToUse = async (year) => (await api('/api/v1/stock/sankey' + qs({ year }))).links.find((l) => l.source === 'market' && l.target === 'use');
    const before = await marketToUse(openingYear);
    const after = await marketToUse(sankeyYear);
    assert.ok(typeof before.value === 'number' && typeof after.value === 'number' && before.value !== after.value, 'the API has different published flows');
    await page.fill('#f-sankey-year', String(sankeyYear));
    await page.press('#f-sankey-year', 'Enter');
    await page.waitForFunction((y) => document.getElementById('sankey-h').textContent.includes(String(y)) && document.body.dataset.state === 'ready', sankeyYear);
    const { sankey } = await assertDashboardMatchesApi(page);
    assert.equal(sankey.year, sankeyYear);
    const link = (await tableRows(page, 'table-sankey')).find((r) => r.source === 'market' && r.target === 'use');
    assert.equal(link.cells[0].value, after.value, `placed on the market in ${sankeyYear}`);
    assertNoConsoleErrors(page);
    await shot(page, 'dashboard-filtered');
  });

  await test('dashboard: CSV and JSON downloads hold the export of the chosen filters', async () => {
    await resetFilters(page);
    await page.selectOption('#f-category', 'hard_disk_drive');
    await ready(page);
    await page.selectOption('#f-element', 'Nd');
    await ready(page);
    const f = await filtersOf(page);
    for (const format of ['csv', 'json']) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(`#download-${format}`)]);
      assert.equal(download.suggestedFilename(), `reetrace-stock.${format}`);
      const body = readFileSync(await download.path(), 'utf8');
      const expected = await api('/api/v1/stock/export.csv' + qs({ ...f, format }), null, format === 'csv' ? 'text/csv' : 'application/json');
      if (format === 'csv') {
        assert.equal(body, expected, 'the CSV is the export');
        const lines = body.trim().split('\n');
        assert.equal(lines[0], 'year,country,category,element,flow,basis,value,unit,parameters_version,coarser_group_by');
        assert.ok(lines.length > 1, 'rows');
        assert.ok(lines.slice(1).every((l) => l.split(',')[2] === 'hard_disk_drive' && l.split(',')[3] === 'Nd'), 'filtered');
        assert.ok(lines.slice(1).some((l) => l.split(',')[6] !== ''), 'some cells are published');
      } else {
        assert.deepEqual(JSON.parse(body), expected, 'the JSON is the export');
        assert.ok(expected.rows.length > 0);
      }
    }
    await page.waitForFunction(() => /Downloaded reetrace-stock\.json/.test(document.getElementById('download-status').textContent));
    assertNoConsoleErrors(page);
  });

  await test('dashboard: 360 px wide, no horizontal scroll; the key is kept for the session', async () => {
    await page.setViewportSize({ width: 360, height: 780 });
    await page.reload({ waitUntil: 'load' });
    await ready(page);
    assert.equal(await page.isVisible('#login'), false, 'the published view is kept for the session');
    await assertNoHorizontalScroll(page, 'dashboard');
    assertNoConsoleErrors(page);
    await shot(page, 'dashboard-360');
    await page.locator('#indicators').screenshot({ path: `${SHOTS}/dashboard-360-indicators.png` });
  });

  // The Sankey diagram as drawn: its box, its node labels (boxes and rendered text size: CSS
  // size times the drawing's scale) and, per ribbon, the boxes of its two nodes.
  const sankeyLayout = () => page.evaluate(() => {
    const svg = document.querySelector('#chart-sankey svg');
    const box = svg.getBoundingClientRect();
    const scale = box.width / svg.viewBox.baseVal.width;
    const rect = (e) => { const b = e.getBoundingClientRect(); return { left: b.left, right: b.right, top: b.top, bottom: b.bottom }; };
    const node = (id) => rect(svg.querySelector(`rect.node[data-node="${id}"]`));
    return {
      box: rect(svg),
      viewport: document.documentElement.clientWidth,
      labels: [...svg.querySelectorAll('text.node-label')].map((t) => ({ text: t.textContent, ...rect(t) })),
      nodes: svg.querySelectorAll('rect.node').length,
      textPx: [...svg.querySelectorAll('text.node-label tspan')].map((t) => parseFloat(getComputedStyle(t).fontSize) * scale),
      ribbons: [...svg.querySelectorAll('path.link')].map((p) => ({ from: node(p.dataset.source), to: node(p.dataset.target) })),
    };
  });

  await test('dashboard: at 360 px the Sankey diagram runs top to bottom, its labels readable and apart', async () => {
    await page.setViewportSize({ width: 360, height: 780 });
    await page.reload({ waitUntil: 'load' });
    await ready(page);
    const s = await sankeyLayout();
    const width = s.box.right - s.box.left;
    const height = s.box.bottom - s.box.top;
    assert.ok(height > width, `laid out downwards: ${width} x ${height} px`);
    assert.ok(s.box.left >= 0 && s.box.right <= s.viewport, `within the viewport: ${s.box.left}..${s.box.right} of ${s.viewport}`);
    assert.ok(s.ribbons.length > 0 && s.ribbons.every((r) => r.to.top >= r.from.bottom), 'every ribbon flows down');
    assert.equal(s.labels.length, s.nodes, 'a label per node');
    assert.ok(Math.min(...s.textPx) >= 11, `text at least 11 px: ${Math.min(...s.textPx).toFixed(1)} px`);
    for (const l of s.labels) {
      assert.ok(l.left >= s.box.left - 0.5 && l.right <= s.box.right + 0.5, `"${l.text}" within the drawing`);
    }
    s.labels.forEach((a, i) => s.labels.slice(i + 1).forEach((b) => {
      const apart = a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top;
      assert.ok(apart, `"${a.text}" and "${b.text}" do not overlap`);
    }));
    await assertNoHorizontalScroll(page, 'dashboard');
    assertNoConsoleErrors(page);
    await page.locator('#sankey').screenshot({ path: `${SHOTS}/dashboard-360-sankey.png` });

    // Wide, the stages run across as before.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.reload({ waitUntil: 'load' });
    await ready(page);
    const wide = await sankeyLayout();
    assert.ok(wide.box.right - wide.box.left > wide.box.bottom - wide.box.top, 'across at 1280 px');
    assert.ok(wide.ribbons.every((r) => r.to.left >= r.from.right), 'every ribbon flows right');
    assertNoConsoleErrors(page);
  });
  await page.close();
}

// ---- the lot page and organisation names --------------------------------------------------

// A demo lot that a passport claims recycled content from (its magnets' `recycled_sources`).
async function claimedLot() {
  const passportId = demo.crma.recycled_content_claims[0];
  const passport = await api(`/api/v1/passports/${passportId}`, keys.regulator);
  const found = JSON.stringify(passport).match(/"lot":"([0-9a-f-]{36})"/);
  if (!found) throw new Error(`passport ${passportId} names no lot`);
  return found[1];
}

async function checkLotPage(context, target) {
  const lot = await claimedLot();
  const expected = await api(`/api/v1/lots/${lot}`, keys.regulator);
  await test('lot page: a regulator key shows the lot, its holder by name and its claims, at 360 px', async () => {
    const page = await open(context, `/lots/${lot}`, { width: 360, height: 800 });
    assert.equal(await page.isVisible('#summary'), false, 'nothing of the lot before a key');
    await page.fill('#api-key', keys.regulator);
    await page.click('#key-form button[type="submit"]');
    await page.waitForSelector('#summary:not([hidden])');
    assert.ok(expected.holder, 'a regulator is shown the holder');
    assert.equal(await page.getAttribute('#summary-list .org', 'title'), expected.holder);
    assert.equal(await page.textContent('#summary-list .org'), expected.names[expected.holder]);
    assert.equal(await page.$$eval('#elements-table tbody tr', (r) => r.length), expected.elements.length);
    assert.equal(await page.$$eval('#claims-list li', (l) => l.length), expected.claims.length);
    assert.ok(expected.claims.length > 0, 'the demo lot has claims');
    await assertNoHorizontalScroll(page, 'lot page');
    assertNoConsoleErrors(page);
    await shot(page, 'lot-360');
    await page.close();
  });
  await test('lot page: a manufacturer key sees its own claims, no holder', async () => {
    const own = await api(`/api/v1/lots/${lot}`, keys.manufacturer);
    const page = await open(context, `/lots/${lot}`, { width: 360, height: 800 });
    await page.fill('#api-key', keys.manufacturer);
    await page.click('#key-form button[type="submit"]');
    await page.waitForSelector('#summary:not([hidden])');
    assert.equal(await page.$$eval('#summary-list .org', (o) => o.length), 0, 'no holder shown');
    assert.equal(await page.$$eval('#claims-list li', (l) => l.length), own.claims.length);
    assertNoConsoleErrors(page);
    await page.close();
  });
  await test('passport page: the custody timeline names organisations, not ids', async () => {
    const { passport, scan } = target;
    const page = await open(context, new URL(passport.uri).pathname, { width: 360, height: 800 });
    await page.fill('#api-key', keys.recycler);
    await page.click('#key-form button[type="submit"]');
    await page.waitForSelector('#custody-timeline li');
    const shown = await page.$$eval('#custody-timeline .by .org', (s) => s.map((x) => [x.title, x.textContent]));
    assert.deepEqual(shown, scan.events.map((e) => [e.org_id, scan.names[e.org_id]]));
    assert.ok(shown.every(([, name]) => name && !/^[0-9a-f-]{36}$/.test(name)), 'names, not ids');
    assertNoConsoleErrors(page);
    await page.close();
  });
}

// ---- run ------------------------------------------------------------------------------

const context = await chromium.launchPersistentContext(process.env.USER_DATA_DIR, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  acceptDownloads: true,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
});
try {
  await settledStock();
  const withCustody = await passportWithCustody();
  await checkPassportPage(context, withCustody);
  await checkLotPage(context, withCustody);
  await checkDashboard(context);
  await checkScenarios(context, { BASE, keys, test, open, assertNoConsoleErrors, assertNoHorizontalScroll, shot });
  // Last: the passport it registers changes the stock figures the dashboard compares.
  await checkMagnetPage(context);
} catch (error) {
  results.push({ name: 'setup', ok: false });
  console.log('FAIL setup\n     ' + String(error && error.stack || error));
} finally {
  await context.close();
}
const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
