// The lot page's script: an API key entered once (kept in this tab's sessionStorage, shared
// with the passport page), then the lot as that key may read it, from GET /api/v1/lots/{id} of
// this same origin. The API decides what each key sees (its claims, its holder and chain only
// for those involved and authorities); this script only shows it. No framework, no build step.
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
    try {
      return sessionStorage.getItem(KEY) || localStorage.getItem(KEY);
    } catch (_) { return null; }
  }

  function store(key) {
    try {
      if (key) sessionStorage.setItem(KEY, key); else sessionStorage.removeItem(KEY);
    } catch (_) { /* storage disabled: the key lasts until the page is left */ }
  }

  const grams = (g) => String(g) + ' g';
  const STATES = {
    held: 'held', handover_pending: 'handover pending', consumed: 'consumed by a recycling',
    destroyed: 'destroyed', exported: 'exported',
  };

  // An organisation by name when the answer names it (only those the key may see), else its id.
  function org(names, id) {
    const name = names && names[id];
    return name ? el('span', { class: 'org', title: id }, name) : el('code', {}, id);
  }

  function row(dl, term, ...value) {
    dl.append(el('dt', {}, term), el('dd', {}, ...value));
  }

  function show(lot) {
    const names = lot.names || {};
    const dl = $('summary-list');
    dl.replaceChildren();
    row(dl, 'Kind', lot.kind);
    row(dl, 'Material', lot.material);
    row(dl, 'Mass', grams(lot.mass_g) + ' (' + grams(lot.remaining_g) + ' left)');
    row(dl, 'State', STATES[lot.state] || lot.state);
    if (lot.gtin) row(dl, 'GTIN and lot number', lot.gtin + ' / ' + lot.lot_number);
    row(dl, 'Identifier (EPC)', el('code', {}, lot.epc));
    if (lot.holder) row(dl, 'Held by', org(names, lot.holder));
    if (lot.pending_to) row(dl, 'Handed over to', org(names, lot.pending_to));
    const origin = (lot.origin || []).map((o) =>
      o.category.replace(/_/g, ' ') + ' from ' + o.country + ' (' + (o.share_ppm / 1e4) + ' %)');
    if (origin.length) row(dl, 'Origin', origin.join('; '));
    $('summary').hidden = false;

    const by = (list) => Object.fromEntries((list || []).map((e) => [e.element, e.mass_g]));
    const [remaining, claimed, claimable] = [by(lot.remaining), by(lot.claimed), by(lot.claimable)];
    $('elements-table').tBodies[0].replaceChildren(...(lot.elements || []).map((e) => el('tr', {},
      el('th', { scope: 'row' }, e.element), el('td', {}, grams(e.mass_g)),
      el('td', {}, grams(remaining[e.element] || 0)), el('td', {}, grams(claimed[e.element] || 0)),
      el('td', {}, grams(claimable[e.element] || 0)))));
    $('elements').hidden = false;

    const claims = lot.claims || [];
    $('claims-note').textContent = lot.claims_shown === 'all'
      ? 'Every claim on this lot.' : 'Your own claims on this lot (the totals above count everyone\'s).';
    $('claims-list').replaceChildren(...claims.map((c) => el('li', {},
      org(names, c.org_id), ' · ', c.element + ' ' + grams(c.mass_g), ' · ', c.status,
      ' · passport ', el('code', {}, c.passport_id))));
    $('claims').hidden = false;

    const events = lot.events || [];
    $('chain-list').replaceChildren(...events.map((e) => el('li', { 'data-event-id': e.event_id },
      el('time', { datetime: e.at }, e.at.slice(0, 16).replace('T', ' ') + ' UTC'), ' ',
      el('strong', {}, e.action), ' by ', org(names, e.org_id))));
    $('chain').hidden = events.length === 0;
  }

  async function load(id, key) {
    const response = await fetch('/api/v1/lots/' + encodeURIComponent(id), {
      headers: { Accept: 'application/json', Authorization: 'Bearer ' + key }, cache: 'no-store',
    });
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    return { status: response.status, body };
  }

  async function use(key) {
    const id = $('lot').dataset.lotId;
    const status = $('key-status');
    status.textContent = 'Reading the lot…';
    const answer = await load(id, key);
    if (answer.status === 200) {
      store(key);
      status.textContent = 'Shown for your key.';
      $('key-forget').hidden = false;
      show(answer.body);
      return;
    }
    const words = {
      401: 'This key is not valid (or was revoked).',
      403: 'Your key may not read this lot.',
      404: 'No such lot.',
      429: 'Too many requests: try again in a moment.',
    };
    status.textContent = words[answer.status] ||
      ((answer.body && answer.body.detail) || 'The lot could not be read (' + answer.status + ').');
    if (answer.status === 401) store(null);
  }

  document.addEventListener('DOMContentLoaded', () => {
    const form = $('key-form');
    form.hidden = false;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const key = $('api-key').value.trim();
      if (key) use(key);
    });
    $('key-forget').addEventListener('click', () => {
      store(null);
      $('key-forget').hidden = true;
      for (const id of ['summary', 'elements', 'claims', 'chain']) $(id).hidden = true;
      $('key-status').textContent = 'The key is forgotten on this device.';
    });
    const key = storedKey();
    if (key) use(key);
  });
})();
