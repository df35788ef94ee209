// The passport page's script: an API key entered once (kept in this tab's sessionStorage),
// then what that key's tier may read, from the JSON API of this same origin: component detail
// (where the magnets are, how to take them out) and the custody timeline. The API decides what
// each key sees; this script only shows it. No framework, no build step.
'use strict';

(function () {
  const KEY = 'reetrace.apiKey';
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function storedKey() {
    try { return sessionStorage.getItem(KEY); } catch (_) { return null; }
  }

  function store(key) {
    try {
      if (key) sessionStorage.setItem(KEY, key); else sessionStorage.removeItem(KEY);
    } catch (_) { /* storage disabled: the key lasts until the page is left */ }
  }

  async function api(path, key) {
    const response = await fetch(path, {
      headers: { Accept: 'application/json', Authorization: 'Bearer ' + key },
      cache: 'no-store',
    });
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    return { status: response.status, body };
  }

  // Grams as the API gives them (exact decimals), with the unit.
  const grams = (g) => String(g) + ' g';
  const percent = (share) => (Math.round(Number(share) * 1e6) / 1e4) + ' %';

  function componentCard(component, index) {
    const dl = el('dl', {});
    const row = (term, value) => dl.append(el('dt', {}, term), el('dd', {}, value));
    row('Material', component.material);
    row('Mass', grams(component.mass_g));
    row('Where it is', component.location || 'Not stated');
    row('How to take it out', component.removal || 'Not stated');
    const rc = component.recycled_content;
    if (rc) {
      row('Recycled content',
        percent(rc.pre_consumer || 0) + ' pre-consumer, ' + percent(rc.post_consumer || 0) +
        ' post-consumer');
    }
    const tbody = el('tbody', {});
    for (const e of component.elements || []) {
      tbody.append(el('tr', {},
        el('td', {}, e.element),
        el('td', { class: 'num' }, String(e.mass_g)),
        el('td', {}, e.method || 'declared')));
    }
    const table = el('table', {},
      el('caption', {}, 'Elements in component ' + (index + 1)),
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col' }, 'Element'),
        el('th', { scope: 'col', class: 'num' }, 'Mass (g)'),
        el('th', { scope: 'col' }, 'Method'))),
      tbody);
    return el('div', { class: 'card' }, el('h3', {}, component.name), dl, table);
  }

  function showComponents(passport) {
    const note = $('components-note');
    const list = $('components-list');
    const details = passport.component_details;
    if (!note || !list || !details) return;
    list.replaceChildren(...details.components.map(componentCard));
    note.textContent = 'Shown for your key (' + passport.tier + ' tier).';
  }

  const STATES = {
    in_use: 'in use', collected: 'collected', received: 'received', sorted: 'sorted',
    dismantled: 'dismantled', recycled: 'recycled', destroyed: 'destroyed', exported: 'exported',
  };

  function showCustody(scan) {
    const state = $('custody-state');
    const list = $('custody-timeline');
    const c = scan.custody || {};
    state.replaceChildren(
      el('dt', {}, 'State'), el('dd', { id: 'custody-state-value' }, STATES[c.state] || c.state),
      el('dt', {}, 'Held by'), el('dd', {}, c.holder ? el('code', {}, c.holder) : 'nobody (in use)'));
    if (c.pending_to) state.append(el('dt', {}, 'Handed over to'), el('dd', {}, el('code', {}, c.pending_to)));
    state.hidden = false;
    const events = scan.events || [];
    list.replaceChildren(...events.map((e) => {
      const when = new Date(e.at);
      return el('li', { 'data-event-id': e.event_id },
        el('time', { datetime: e.at }, when.toISOString().slice(0, 16).replace('T', ' ') + ' UTC'),
        ' ',
        el('strong', {}, e.action),
        el('span', { class: 'by' }, ' by ', el('code', {}, e.org_id)),
        el('span', { class: 'chain' }, ' · link ' + e.chain_seq + ' of the hash chain, log leaf ' + e.leaf_index));
    }));
    list.hidden = events.length === 0;
    $('custody-status').textContent = events.length === 0
      ? 'No custody event yet: the product is still in use.'
      : events.length + ' custody event' + (events.length === 1 ? '' : 's') + ', oldest first.';
  }

  function custodyRefused(status, problem) {
    const words = {
      401: 'The key was not accepted.',
      403: 'Your key\'s role may not read custody: recyclers, regulators and administrators may.',
      404: 'No custody record: model passports have none, and a new passport appears here after a moment.',
    };
    $('custody-status').textContent = words[status] ||
      ('Custody could not be read' + (problem && problem.title ? ': ' + problem.title : '') + '.');
  }

  async function load(key) {
    const section = $('custody');
    const id = section && section.dataset.passportId;
    const status = $('key-status');
    const who = await api('/api/v1/whoami', key);
    if (who.status !== 200) {
      store(null);
      status.textContent = who.status === 401
        ? 'That key is not valid (or was revoked); it was not kept.'
        : 'The key could not be checked (HTTP ' + who.status + ').';
      return false;
    }
    status.textContent = 'Using the key of ' + who.body.org_name + ' (' + who.body.role + ').';
    $('key-form').hidden = true;
    $('key-forget').hidden = false;
    if (!id) return true;
    const passport = await api('/api/v1/passports/' + encodeURIComponent(id), key);
    if (passport.status === 200) {
      $('access-tier').textContent = passport.body.tier;
      showComponents(passport.body);
    }
    const scan = await api('/api/v1/custody/' + encodeURIComponent(id), key);
    if (scan.status === 200) showCustody(scan.body); else custodyRefused(scan.status, scan.body);
    return true;
  }

  function start() {
    const form = $('key-form');
    if (!form) return;
    form.hidden = false;
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const key = $('api-key').value.trim();
      if (!key) return;
      $('api-key').value = '';
      if (await load(key)) store(key);
    });
    $('key-forget').addEventListener('click', () => {
      store(null);
      window.location.reload();
    });
    const key = storedKey();
    if (key) load(key);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
