// The scenarios page (/dashboard/scenarios) in headless Chromium: two scenarios made through the
// API beside the baseline, figures equal to the compare route's, the CRMA benchmark line and its
// caveat, authorities only, no horizontal scroll at 360 px. Called from pages.test.mjs with its
// helpers.
import { strict as assert } from 'node:assert';

export async function checkScenarios(context, h) {
  const { BASE, keys, test, open, assertNoConsoleErrors, assertNoHorizontalScroll, shot } = h;
  const post = async (body) => {
    const response = await fetch(BASE + '/api/v1/stock/scenarios', {
      method: 'POST',
      headers: { Authorization: 'Bearer ' + keys.regulator, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 201, await response.clone().text());
    return response.json();
  };
  const made = [
    await post({ name: 'Dy halved, EV motor collection 60 %, REE-free motors 10 %', levers: [
      { kind: 'thrifting', category: 'ev_traction_motor', element: 'Dy', from: 2030, factor: 0.5 },
      { kind: 'collection_rate', category: 'ev_traction_motor', from: 2027, by: 2035, target: 0.6 },
      { kind: 'substitution', category: 'ev_traction_motor', from: 2027, share: 0.1 }] }),
    await post({ name: 'EV demand +5 % a year, 80 % collection by 2040', levers: [
      { kind: 'demand', category: 'ev_traction_motor', from: 2030, growth: 0.05 },
      { kind: 'collection_rate', category: 'ev_traction_motor', from: 2030, by: 2040, target: 0.8 }] }),
  ];
  const ids = made.map((s) => s.id).join(',');

  const page = await open(context, '/dashboard/scenarios');
  await test('scenarios: two scenarios beside the baseline, as the compare route answers them', async () => {
    await page.fill('#api-key', keys.regulator);
    await page.click('#key-form button[type="submit"]');
    await page.waitForFunction(() => document.body.dataset.state === 'ready');
    const response = await fetch(BASE + '/api/v1/stock/scenarios/compare?ids=' + ids, { headers: { Authorization: 'Bearer ' + keys.regulator } });
    const answer = await response.json();
    assert.equal(await page.inputValue('#f-element'), 'Dy');
    const series = await page.$$eval('#chart-ratio path.series', (paths) => paths.map((p) => p.dataset.series));
    for (const name of ['Baseline', 'S1', 'S2', 'CRMA 25 %']) {
      assert.ok(series.some((s) => s === name || s === name + ' (forecast)'), `${name} in the ratio chart: ${series}`);
    }
    const key = await page.$$eval('#series-key li', (lis) => lis.map((li) => li.textContent));
    assert.deepEqual(key.slice(1, 3), made.map((s, i) => `S${i + 1}: ${s.name} (version 1)`));
    assert.equal(await page.textContent('#caveat'), answer.benchmark.caveat);
    for (const chart of ['#chart-stock', '#chart-supply']) {
      const lines = await page.$$eval(chart + ' path.series', (paths) => paths.map((p) => p.dataset.series));
      assert.ok(lines.some((s) => s === 'S1' || s === 'S1 (forecast)'), `${chart}: ${lines}`);
    }
    // Every ratio in the table is the API's, scenario by scenario.
    const rows = await page.$$eval('#table-ratio tbody tr', (trs) => trs.map((tr) => ({
      year: Number(tr.dataset.year),
      cells: [...tr.querySelectorAll('td')].map((td) => (td.dataset.value === undefined ? null : Number(td.dataset.value))),
    })));
    assert.equal(rows.length, answer.year_to - answer.year_from + 1);
    let compared = 0;
    for (const row of rows) {
      answer.scenarios.forEach((s, i) => {
        const r = s.rows.find((x) => x.year === row.year && x.element === 'Dy');
        assert.equal(row.cells[i], r ? r.secondary_supply_ratio : null, `${s.name} ${row.year}`);
        if (row.cells[i] !== null) compared += 1;
      });
    }
    assert.ok(compared > 0, 'some ratios are figures');
    const dots = await page.$$eval('#chart-stock circle.dot', (c) => c.map((d) => Number(d.dataset.value)));
    const last = answer.scenarios[1].rows.find((x) => x.year === answer.year_to && x.element === 'Dy');
    assert.ok(dots.includes(last.stock_in_use), 'the stock chart plots the API figure');
    await page.selectOption('#f-element', 'Nd');
    assert.equal((await page.$$eval('#chart-ratio path.series', (p) => p.length)) > 0, true);
    await shot(page, 'scenarios');
    assertNoConsoleErrors(page);
  });
  await test('scenarios: 360 px wide, no horizontal scroll', async () => {
    await page.setViewportSize({ width: 360, height: 800 });
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => document.body.dataset.state === 'ready');
    await assertNoHorizontalScroll(page, 'scenarios');
    // Every legend entry inside its chart.
    const clipped = await page.$$eval('svg.chart', (charts) => charts.flatMap((c) => {
      const height = c.viewBox.baseVal.height;
      return [...c.querySelectorAll('text.legend')].filter((t) => Number(t.getAttribute('y')) > height).map((t) => t.textContent);
    }));
    assert.deepEqual(clipped, [], 'legend entries below the chart');
    await shot(page, 'scenarios-360');
    assertNoConsoleErrors(page);
  });
  await page.close();
  await test('scenarios: a manufacturer\'s key is refused', async () => {
    const other = await open(context, '/dashboard/scenarios');
    await other.evaluate(() => sessionStorage.clear());
    await other.fill('#api-key', keys.manufacturer);
    await other.click('#key-form button[type="submit"]');
    await other.waitForFunction(() => /regulators and administrators only/.test(document.getElementById('key-status').textContent));
    assert.ok(await other.isHidden('#board'));
    await other.close();
  });
}
