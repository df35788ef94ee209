// End-to-end tests of the field page (/scan) in headless Chromium, on a phone's viewport.
// Started by run.sh after pages.test.mjs, against the same server (BASE_URL) and demo keys
// (DEMO_JSON), with a browser profile of its own. Chromium on Linux has no BarcodeDetector, so
// the photo path is the one tested: a photo is the server's own QR code PNG.
//
// Every check compares the page with the API: a step the page says was accepted is in the
// product's custody exactly once; a refused one shows the problem the API answered.
import { readFileSync } from 'node:fs';
import { strict as assert } from 'node:assert';
import { chromium } from 'playwright-core';

const BASE = process.env.BASE_URL;
const demo = JSON.parse(readFileSync(process.env.DEMO_JSON, 'utf8'));
const SHOTS = process.env.SCREENSHOTS;
const keys = {
  admin: demo.keys.admin,
  manufacturer: demo.keys.manufacturer.api_key,
  recycler: demo.keys.recycler.api_key,
};
const PHONE = { width: 360, height: 780 };
// Serials of this run (the tests may run again against the same server).
const RUN = Date.now().toString(36).slice(-5).toUpperCase();
const serial = (name) => `F${RUN}-${name}`;

async function call(method, path, key, body) {
  const headers = { Accept: 'application/json' };
  if (key) headers.Authorization = 'Bearer ' + key;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch (_) { json = null; }
  return { status: response.status, body: json, text };
}

async function api(path, key) {
  const answer = await call('GET', path, key);
  if (answer.status !== 200) throw new Error(`${path}: HTTP ${answer.status} ${answer.text}`);
  return answer.body;
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
    // What the page last said and logged, to tell why.
    if (lastPage && !lastPage.isClosed()) {
      const said = await lastPage.evaluate(() => ['find-status', 'key-status', 'network', 'form-error']
        .map((id) => document.getElementById(id)).filter(Boolean).map((e) => `#${e.id}: ${e.textContent}`)).catch(() => []);
      console.log('     ' + said.concat(lastPage.errors).join('\n     '));
      await lastPage.close();
    }
  }
}
let lastPage = null;

// A page at the phone's size that records console errors and failed requests.
async function open(context, path = '/scan') {
  const page = await context.newPage();
  await page.setViewportSize(PHONE);
  page.errors = [];
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  page.on('pageerror', (e) => page.errors.push('uncaught: ' + e.message));
  page.on('response', (r) => { if (r.status() >= 400) page.errors.push(`(HTTP ${r.status()} for ${r.url()})`); });
  const response = await page.goto(BASE + path, { waitUntil: 'load' });
  assert.equal(response.status(), 200, path);
  lastPage = page;
  return page;
}

function assertNoConsoleErrors(page, allowed = []) {
  const unexpected = page.errors.filter((e) => !allowed.some((re) => re.test(e)));
  assert.deepEqual(unexpected, [], 'console errors and failed requests');
}

async function assertNoHorizontalScroll(page, what) {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
  }));
  assert.ok(scrollWidth <= clientWidth, `${what}: scrollWidth ${scrollWidth} > clientWidth ${clientWidth} at 360 px`);
}

const shot = (page, name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

async function signIn(page, key, remember = false) {
  await page.fill('#api-key', key);
  if (remember) await page.check('#remember');
  await page.click('#key-form button[type="submit"]');
  await page.waitForSelector('#find:not([hidden])');
}

async function lookUp(page, text) {
  await page.fill('#lookup', text);
  await page.click('#lookup-form button[type="submit"]');
}

const state = (page) => page.textContent('#subject-state');
const waitState = (page, words) => page.waitForFunction((w) => document.getElementById('subject-state')?.textContent === w, words);
const queueItems = (page) => page.$$eval('#queue li[data-key]', (lis) => lis.map((li) => ({
  key: li.dataset.key, status: li.dataset.status, text: li.textContent,
  reason: li.querySelector('.reason') ? li.querySelector('.reason').textContent : null,
})));
const waitQueue = (page, statuses) => page.waitForFunction((want) => {
  const got = [...document.querySelectorAll('#queue li[data-key]')].map((li) => li.dataset.status);
  return JSON.stringify(got.slice(-want.length)) === JSON.stringify(want);
}, statuses);

// Records a step (as `record`) and waits for the server's answer to it: the queue's new last
// entry accepted or refused. Returns that entry.
async function recordAnswered(page, button, fill) {
  const before = (await queueItems(page)).length;
  await record(page, button, fill);
  await page.waitForFunction((n) => {
    const items = document.querySelectorAll('#queue li[data-key]');
    return items.length === n + 1 && items[n].dataset.status !== 'queued';
  }, before);
  return (await queueItems(page)).at(-1);
}

// Opens the form of a step, fills what `fill` says, records it.
async function record(page, button, fill = async () => {}) {
  await page.click(`#actions button[${button}]`);
  await page.waitForSelector('#step-form:not([hidden])');
  await fill();
  await page.click('#step-submit');
  await page.waitForSelector('#step-form', { state: 'hidden' });
}

// ---- data -------------------------------------------------------------------------------

// A motor with its magnets and removal steps (the schema example), under the demo
// manufacturer's GS1 prefix 4012345 (pages.test.mjs may have given it already).
async function registerMotor(serial) {
  const example = new URL('../../schemas/examples/valid/item-ev-traction-motor-with-magnets.json', import.meta.url);
  const motor = JSON.parse(readFileSync(example, 'utf8'));
  motor.product.serial = serial;
  delete motor.ree_content.components[0].magnets[0].recycled_sources;
  const prefix = await call('POST', `/api/v1/orgs/${demo.keys.manufacturer.org_id}/gs1-prefixes`, keys.admin, { prefix: '4012345' });
  assert.ok(prefix.status === 201 || prefix.status === 409, prefix.text);
  const issued = await call('POST', '/api/v1/passports', keys.manufacturer, motor);
  assert.equal(issued.status, 201, issued.text);
  // Custody learns of new passports from the passport feed.
  for (let i = 0; i < 100; i++) {
    if ((await call('GET', `/api/v1/custody/${issued.body.id}`, keys.recycler)).status === 200) return Object.assign({ serial }, issued.body);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('custody did not learn of the new passport');
}

// The product's custody events, as a regulator sees them (all of them).
async function events(id) {
  return (await api(`/api/v1/custody/${id}`, keys.admin)).events;
}

// ---- tests ------------------------------------------------------------------------------

async function scanFromPhoto(context) {
  await test('field page: a photo of the product\'s QR code opens it (the photo path)', async () => {
    const motor = await registerMotor(serial('PHOTO'));
    const png = await fetch(`${BASE}/api/v1/passports/${motor.id}/qr.png?size=512`);
    assert.equal(png.status, 200);
    const buffer = Buffer.from(await png.arrayBuffer());
    const page = await open(context);
    assert.equal(await page.isVisible('#camera-start'), false, 'no BarcodeDetector here: no camera button');
    await signIn(page, keys.recycler);
    await page.setInputFiles('#photo', { name: 'label.png', mimeType: 'image/png', buffer });
    await page.waitForSelector(`#subject[data-id="${motor.id}"]:not([hidden])`);
    assert.equal(await page.textContent('#subject-h'), 'Traction motor PMSM 150 kW');
    assert.equal(await state(page), 'in use');
    assert.deepEqual(await page.$$eval('#actions button', (b) => b.map((x) => x.dataset.action)), ['collect']);
    assertNoConsoleErrors(page);
    await page.close();
  });
}

async function collectToRecycling(context) {
  await test('field page: from collection to a recycled oxide lot at 360 px, each step once', async () => {
    const motor = await registerMotor(serial('PATH'));
    const details = (await api(`/api/v1/passports/${motor.id}`, keys.recycler)).component_details;
    const page = await open(context);
    const posted = [];
    page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/events')) posted.push(r.postDataJSON()); });
    await signIn(page, keys.recycler);
    // Typed as a recycler reads it off the label: GTIN and serial.
    await lookUp(page, `04012345000016 ${motor.serial}`);
    await page.waitForSelector(`#subject[data-id="${motor.id}"]:not([hidden])`);

    await recordAnswered(page, 'data-action="collect"', async () => {
      await page.fill('#f-mass', '48100');
      await page.selectOption('#f-country', 'FR');
      await page.fill('#f-place', 'Lyon collection point');
    });
    await waitState(page, 'collected');
    await assertNoHorizontalScroll(page, 'field page with a step form');
    await recordAnswered(page, 'data-action="receive"');
    await waitState(page, 'received');
    await recordAnswered(page, 'data-action="sort"', async () => {
      assert.equal(await page.inputValue('#f-country'), 'FR', 'the last country is offered again');
    });
    await waitState(page, 'sorted');
    assert.deepEqual(await page.$$eval('#actions button', (b) => b.map((x) => x.dataset.action || x.dataset.process)),
      ['handover', 'destroy', 'export', 'dismantling', 'recycling'], 'the steps the API allows when sorted');

    // Dismantling: the guided form shows the magnets and the removal sequence.
    const product = (await api(`/api/v1/custody/${motor.id}`, keys.recycler)).product;
    let recovered;
    await recordAnswered(page, 'data-process="dismantling"', async () => {
      const magnets = details.components.flatMap((c) => c.magnets || []);
      assert.equal(await page.$$eval('#step-form .guide .magnet', (m) => m.length), magnets.length, 'every magnet');
      assert.equal(await page.$$eval('#step-form .guide ol.steps li', (s) => s.length), details.removal_steps.length, 'every removal step');
      assert.match(await page.textContent('#step-form .guide'), /N42SH/);
      await assertNoHorizontalScroll(page, 'the dismantling form');
      await shot(page, 'scan-dismantling-360');
      recovered = product.elements.map((e) => ({ element: e.element, mass_g: Math.floor(e.mass_g * 900) / 1000 }));
      for (const e of recovered) await page.fill(`#f-el-${e.element}`, String(e.mass_g));
      await page.fill('#f-out-mass', '1500');
    });
    await waitState(page, 'dismantled');
    assert.equal((await queueItems(page)).at(-1).status, 'accepted');

    // The magnet lot it made, then its recycling into an oxide.
    await page.click('#queue button.open-lot');
    await page.waitForSelector('#subject[data-kind="lot"]:not([hidden])');
    const lotId = await page.getAttribute('#subject', 'data-id');
    const lot = await api(`/api/v1/lots/${lotId}`, keys.recycler);
    assert.deepEqual(lot.elements, recovered, 'the lot holds what was typed');
    let oxide;
    await recordAnswered(page, 'data-process="recycling"', async () => {
      await page.selectOption('#f-kind', 'oxide');
      await page.fill('#f-material', 'NdPr oxide');
      await page.fill('#f-out-mass', '600');
      oxide = recovered.filter((e) => e.element === 'Nd' || e.element === 'Pr')
        .map((e) => ({ element: e.element, mass_g: Math.floor(e.mass_g * 800) / 1000 }));
      for (const e of oxide) await page.fill(`#f-el-${e.element}`, String(e.mass_g));
    });
    await waitState(page, 'consumed');
    const recycled = (await queueItems(page)).at(-1);
    assert.equal(recycled.status, 'accepted', recycled.text);
    await page.click('#queue li:last-child button.open-lot');
    await page.waitForFunction((id) => document.getElementById('subject').dataset.id !== id, lotId);
    const oxideLot = await api(`/api/v1/lots/${await page.getAttribute('#subject', 'data-id')}`, keys.recycler);
    assert.equal(oxideLot.kind, 'oxide');
    assert.equal(oxideLot.material, 'NdPr oxide');
    assert.deepEqual(oxideLot.elements, oxide);

    const chain = await events(motor.id);
    assert.deepEqual(chain.map((e) => e.action), ['collect', 'receive', 'sort', 'dismantling'], 'each step once, in order');
    const collect = posted.find((p) => p.action === 'collect');
    assert.equal(collect.measured_mass_g, 48100, 'the measured mass is sent');
    assert.deepEqual(collect.location, { country: 'FR', name: 'Lyon collection point' }, 'the country from the list');
    await assertNoHorizontalScroll(page, 'field page');
    assertNoConsoleErrors(page);
    await shot(page, 'scan-recycled-360');
    await page.close();
  });
}

async function offlineQueue(context) {
  await test('field page: offline, the page still opens and steps are queued, then sent in order when the network returns, each once', async () => {
    const motor = await registerMotor(serial('OFFLINE'));
    const page = await open(context);
    await signIn(page, keys.recycler);
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await lookUp(page, motor.id);
    await page.waitForSelector(`#subject[data-id="${motor.id}"]:not([hidden])`);

    await context.setOffline(true);
    // The page itself comes from the service worker, the product from this device's copy.
    await page.reload({ waitUntil: 'load' });
    assert.ok(await page.evaluate(() => navigator.serviceWorker.controller !== null), 'the service worker serves the page');
    await page.waitForSelector('#find:not([hidden])');
    await lookUp(page, motor.id);
    await page.waitForSelector(`#subject[data-id="${motor.id}"]:not([hidden])`);
    assert.match(await page.textContent('#subject-note'), /As this device last saw it/);
    await record(page, 'data-action="collect"', () => page.fill('#f-mass', '48000'));
    await waitState(page, 'collected');
    await record(page, 'data-action="receive"');
    await waitState(page, 'received');
    assert.deepEqual((await queueItems(page)).slice(-2).map((q) => q.status), ['queued', 'queued']);
    assert.match(await page.textContent('#network'), /Offline.*2 waiting/);
    assert.equal((await events(motor.id)).length, 0, 'nothing reached the server');
    await shot(page, 'scan-offline-queue-360');

    await context.setOffline(false);
    await waitQueue(page, ['accepted', 'accepted']);
    const chain = await events(motor.id);
    assert.deepEqual(chain.map((e) => e.action), ['collect', 'receive'], 'recorded once each, in order');
    await page.waitForFunction(() => /Online.*Nothing waiting/.test(document.getElementById('network').textContent));
    assertNoConsoleErrors(page, [/ERR_INTERNET_DISCONNECTED/, /Failed to fetch/]);
    await page.close();
  });
}

// Playwright's request interception does not see requests a service worker handles, so the
// lost answer is played in a context without service workers.
async function lostAnswer(context) {
  await test('field page: a step whose answer was lost is sent again with the same Idempotency-Key and recorded once', async () => {
    const motor = await registerMotor(serial('LOST'));
    const page = await open(context);
    await signIn(page, keys.recycler);
    await lookUp(page, motor.id);
    await page.waitForSelector(`#subject[data-id="${motor.id}"]:not([hidden])`);
    // The server records the collect, but its answer never reaches the page.
    const sent = [];
    let lose = true;
    await page.route('**/api/v1/custody/*/events', async (route) => {
      sent.push(route.request().headers()['idempotency-key']);
      const response = await route.fetch();
      if (lose) { lose = false; await route.abort('connectionreset'); } else await route.fulfill({ response });
    });
    await record(page, 'data-action="collect"');
    await page.waitForFunction(() => document.body.dataset.lastRound === 'offline');
    assert.equal(await page.getAttribute('body', 'data-queued'), '1', 'the step still waits');
    assert.equal((await events(motor.id)).length, 1, 'the server recorded the collect');
    await page.click('#queue-send');
    await waitQueue(page, ['accepted']);
    const [collect] = (await queueItems(page)).slice(-1);
    assert.deepEqual(sent, [collect.key, collect.key], 'sent twice, with the key it was recorded with');
    await waitState(page, 'collected');
    assert.deepEqual((await events(motor.id)).map((e) => e.action), ['collect'], 'recorded once');
    assertNoConsoleErrors(page, [/ERR_CONNECTION_RESET/]);
    await page.close();
  });
}

async function refusedStep(context) {
  await test('field page: a step refused when the network returns is shown with the API\'s reason', async () => {
    const motor = await registerMotor(serial('REFUSED'));
    const other = await call('POST', '/api/v1/orgs', keys.admin, { name: 'Collecte Nord', role: 'recycler' });
    assert.equal(other.status, 201, other.text);
    const page = await open(context);
    await signIn(page, keys.recycler);
    await lookUp(page, motor.id);
    await page.waitForSelector(`#subject[data-id="${motor.id}"]:not([hidden])`);
    await context.setOffline(true);
    await record(page, 'data-action="collect"');
    // Meanwhile another collector takes the product.
    const taken = await call('POST', `/api/v1/custody/${motor.id}/events`, other.body.api_key, { action: 'collect', at: new Date().toISOString() });
    assert.equal(taken.status, 201, taken.text);
    const refusal = await call('POST', `/api/v1/custody/${motor.id}/events`, keys.recycler, { action: 'collect', at: new Date().toISOString() });
    assert.equal(refusal.status, 409);
    await context.setOffline(false);
    await waitQueue(page, ['refused']);
    const refused = (await queueItems(page)).at(-1);
    assert.ok(refused.reason.includes(refusal.body.title), refused.reason);
    assert.ok(refused.reason.includes(refusal.body.detail), `${refused.reason} names "${refusal.body.detail}"`);
    // The page shows the server's custody again: collected by someone this key is not told of.
    await page.waitForFunction(() => document.getElementById('subject-holder').textContent === 'not shown to your key');
    assert.equal(await state(page), 'collected');
    assert.equal(await page.$$eval('#actions button', (b) => b.length), 0, 'nothing left to this recycler');
    assert.deepEqual((await events(motor.id)).map((e) => e.org_id), [other.body.org_id], 'only the other collect');
    await shot(page, 'scan-refused-360');
    assertNoConsoleErrors(page, [/status of 409/, /HTTP 409 for .*\/events/, /ERR_INTERNET_DISCONNECTED/]);
    await page.close();
  });
}

async function handover(context) {
  await test('field page: a handover names the next holder (by name where the key may list them), who accepts it on its own phone', async () => {
    const motor = await registerMotor(serial('HAND'));
    const name = `Tri Sud ${RUN}`;
    const next = await call('POST', '/api/v1/orgs', keys.admin, { name, role: 'recycler' });
    assert.equal(next.status, 201, next.text);
    const page = await open(context);
    await signIn(page, keys.recycler);
    await lookUp(page, motor.id);
    await page.waitForSelector(`#subject[data-id="${motor.id}"]:not([hidden])`);
    await recordAnswered(page, 'data-action="collect"');
    const handed = await recordAnswered(page, 'data-action="handover"', async () => {
      // A select of organisations by name where the server lists them to this key, else the id.
      if (await page.$('select#f-to')) await page.selectOption('#f-to', { label: name });
      else await page.fill('#f-to', next.body.org_id);
    });
    assert.equal(handed.status, 'accepted', handed.text);
    await page.waitForSelector('#subject-facts dt:text("Handed over to")');
    assert.deepEqual(await page.$$eval('#actions button', (b) => b.length), 0, 'the holder waits for the recipient');
    await page.close();

    const theirs = await open(context);
    await signIn(theirs, next.body.api_key);
    await lookUp(theirs, motor.id);
    await theirs.waitForSelector(`#subject[data-id="${motor.id}"]:not([hidden])`);
    assert.deepEqual(await theirs.$$eval('#actions button', (b) => b.map((x) => x.dataset.action)), ['accept']);
    assert.equal((await recordAnswered(theirs, 'data-action="accept"')).status, 'accepted');
    await theirs.waitForFunction(() => document.getElementById('subject-holder').textContent.startsWith('you ('));
    assert.equal(await state(theirs), 'received');
    const chain = await events(motor.id);
    assert.deepEqual(chain.map((e) => [e.action, e.org_id]),
      [['collect', demo.keys.recycler.org_id], ['handover', demo.keys.recycler.org_id], ['accept', next.body.org_id]]);
    assertNoConsoleErrors(theirs);
    await theirs.close();
  });
}

async function fromPassportPage(context) {
  await test('field page: a recycler on a passport page goes on to the product on the field page, with the key of the tab', async () => {
    const motor = await registerMotor(serial('LINK'));
    const page = await open(context, new URL(motor.uri).pathname);
    await page.fill('#api-key', keys.recycler);
    await page.click('#key-form button[type="submit"]');
    await page.click('#field-link');
    await page.waitForURL(`${BASE}/scan?passport=${motor.id}`);
    await page.waitForSelector(`#subject[data-id="${motor.id}"]:not([hidden])`);
    assert.equal(await page.isVisible('#key-form'), false, 'no key asked again');
    assert.deepEqual(await page.$$eval('#actions button', (b) => b.map((x) => x.dataset.action)), ['collect']);
    assertNoConsoleErrors(page);
    await page.close();
  });
}

async function rememberedKey(context) {
  await test('field page: the key is remembered on the device only when asked, and forgotten', async () => {
    const page = await open(context);
    await signIn(page, keys.recycler, true);
    assert.match(await page.textContent('#who'), /remembered on this device/);
    const other = await open(context);
    await other.waitForSelector('#find:not([hidden])');
    assert.match(await other.textContent('#who'), /remembered/);
    await other.click('#key-forget');
    await other.waitForSelector('#key-form:not([hidden])');
    const stored = await other.evaluate(() => [localStorage.getItem('reetrace.field.identity'), sessionStorage.getItem('reetrace.field.identity')]);
    assert.deepEqual(stored, [null, null]);
    const fresh = await open(context);
    assert.ok(await fresh.isVisible('#key-form'), 'a new tab asks for the key again');
    for (const p of [page, other, fresh]) { assertNoConsoleErrors(p); await p.close(); }
  });
}

// ---- run --------------------------------------------------------------------------------

const context = await chromium.launchPersistentContext(process.env.USER_DATA_DIR + '-scan', {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  serviceWorkers: 'allow',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
});
const noWorkers = await chromium.launchPersistentContext(process.env.USER_DATA_DIR + '-scan-no-workers', {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  serviceWorkers: 'block',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
});
try {
  await rememberedKey(context);
  await collectToRecycling(context);
  await offlineQueue(context);
  await lostAnswer(noWorkers);
  await refusedStep(context);
  await fromPassportPage(context);
  await handover(context);
  await scanFromPhoto(context);
} catch (error) {
  results.push({ name: 'setup', ok: false });
  console.log('FAIL setup\n     ' + String(error && error.stack || error));
} finally {
  await context.close();
  await noWorkers.close();
}
const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
