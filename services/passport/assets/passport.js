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

  // The vocabularies in words, as the server-rendered page writes them (page/magnets.rs).
  const words = (code) => String(code).replace(/_/g, ' ');
  const TYPES = {
    ndfeb: 'NdFeB (neodymium-iron-boron)', smco: 'SmCo (samarium-cobalt)',
    alnico: 'AlNiCo (aluminium-nickel-cobalt)', ferrite: 'hard ferrite',
  };
  const SUBTYPES = { hot_deformed: 'hot-deformed', '1_5': 'SmCo5 (1:5)', '2_17': 'Sm2Co17 (2:17)' };
  const ADDITIVES = {
    grain_boundary_diffusion_dy: 'grain-boundary diffusion of dysprosium',
    grain_boundary_diffusion_tb: 'grain-boundary diffusion of terbium',
    polymer_binder_epoxy: 'polymer binder: epoxy', polymer_binder_polyamide: 'polymer binder: polyamide',
    polymer_binder_pps: 'polymer binder: PPS',
  };
  // count × unit mass in whole micrograms, so that 16 × 0.575 g reads 9.2 g.
  const times = (count, g) => grams(Math.round(Number(g) * 1e6) * count / 1e6);

  function declared(entries, word) {
    if (!entries || entries.length === 0) return 'Not declared';
    return entries.map((e) => {
      let text = e.type === 'none' ? 'none (declared absent)' : word(e.type);
      if (e.description) text += ': ' + e.description;
      if (e.mass_g !== undefined) text += ' (' + grams(e.mass_g) + ' per magnet)';
      return text;
    }).join('; ');
  }

  // `caption`: the caption's text and nodes.
  function elementTable(caption, entries) {
    const tbody = el('tbody', {});
    for (const e of entries || []) {
      tbody.append(el('tr', {},
        el('td', {}, e.element),
        el('td', { class: 'num' }, String(e.mass_g)),
        el('td', {}, e.method || 'declared')));
    }
    return el('table', {},
      el('caption', {}, ...caption),
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col' }, 'Element'),
        el('th', { scope: 'col', class: 'num' }, 'Mass (g)'),
        el('th', { scope: 'col' }, 'Method'))),
      tbody);
  }

  function magnetBlock(m, index) {
    const dl = el('dl', {});
    const row = (term, value) => dl.append(el('dt', {}, term), el('dd', {}, value));
    row('Type', TYPES[m.type] + (m.subtype ? ', ' + (SUBTYPES[m.subtype] || m.subtype) : ''));
    if (m.grade) row('Grade', m.grade);
    if (m.temperature_class) {
      row('Temperature class', m.temperature_class === 'none' ? 'none (a plain grade)' : m.temperature_class);
    }
    row('Where it sits', m.position || 'Not stated');
    row('Coatings', declared(m.coatings, words));
    row('Glues', declared(m.glues, words));
    row('Additives', declared(m.additives, (t) => ADDITIVES[t] || words(t)));
    row('Magnetised at end of life', m.magnetised_at_end_of_life || 'unknown');
    const heading = el('h4', {}, (m.count === 1 ? 'Magnet ' : 'Magnet set '), el('code', {}, m.ref),
      ': ' + m.count + ' × ' + grams(m.unit_mass_g) + ' = ' + times(m.count, m.unit_mass_g));
    const table = elementTable(
      ['Composition of one magnet of ', el('code', {}, m.ref), ' (component ' + (index + 1) + ')'],
      m.composition);
    return el('div', { class: 'magnet' }, heading, dl, table);
  }

  function duration(seconds) {
    const parts = [[Math.floor(seconds / 3600), 'h'], [Math.floor(seconds / 60) % 60, 'min'], [seconds % 60, 's']];
    const text = parts.filter(([n]) => n > 0).map(([n, unit]) => n + ' ' + unit);
    return text.length ? text.join(' ') : '0 s';
  }

  function removalSequence(steps) {
    const list = el('ol', { class: 'steps', 'aria-labelledby': 'removal-h' });
    for (const step of steps) {
      const action = words(step.action);
      const lead = el('p', {}, el('strong', {}, action.charAt(0).toUpperCase() + action.slice(1)));
      if (step.detail) lead.append(': ' + step.detail);
      const dl = el('dl', {});
      const row = (term, value) => dl.append(el('dt', {}, term), el('dd', {}, value));
      if (step.removes && step.removes.length) {
        row('Removes', step.removes.map((r) => (r.count ? r.count + ' × ' : '') + words(r.part) +
          (r.description ? ' (' + r.description + ')' : '')).join('; '));
      }
      if (step.tools && step.tools.length) {
        row('Tools', step.tools.map((t) => {
          const fit = [t.drive && words(t.drive), t.size].filter(Boolean);
          return words(t.tool) + (fit.length ? ', ' + fit.join(' ') : '') + (t.detail ? ' (' + t.detail + ')' : '');
        }).join('; '));
      }
      if (step.estimated_seconds) row('Estimated time', duration(step.estimated_seconds));
      if (step.releases && step.releases.length) {
        const dd = el('dd', {});
        step.releases.forEach((r, i) => dd.append(i ? ', ' : '', el('code', {}, r)));
        dl.append(el('dt', {}, 'Frees the magnets'), dd);
      }
      if (step.safety) row('Safety', step.safety);
      list.append(el('li', {}, lead, dl));
    }
    return [el('h3', { id: 'removal-h' }, 'Removal sequence'), list];
  }

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
    const table = elementTable(['Elements in component ' + (index + 1)], component.elements);
    const magnets = (component.magnets || []).map((m) => magnetBlock(m, index));
    return el('div', { class: 'card' }, el('h3', {}, component.name), dl, table, ...magnets);
  }

  function showComponents(passport) {
    const note = $('components-note');
    const list = $('components-list');
    const details = passport.component_details;
    if (!note || !list || !details) return;
    const steps = details.removal_steps || [];
    list.replaceChildren(...details.components.map(componentCard),
      ...(steps.length ? removalSequence(steps) : []));
    note.textContent = 'Shown for your key (' + passport.tier + ' tier).';
  }

  const STATES = {
    in_use: 'in use', collected: 'collected', received: 'received', sorted: 'sorted',
    dismantled: 'dismantled', recycled: 'recycled', destroyed: 'destroyed', exported: 'exported',
  };

  // An organisation by name when the answer names it (it names only those the key may see),
  // its id otherwise.
  function org(names, id) {
    const name = names && names[id];
    return name ? el('span', { class: 'org', title: id }, name) : el('code', {}, id);
  }

  function showCustody(scan) {
    const names = scan.names || {};
    const state = $('custody-state');
    const list = $('custody-timeline');
    const c = scan.custody || {};
    state.replaceChildren(
      el('dt', {}, 'State'), el('dd', { id: 'custody-state-value' }, STATES[c.state] || c.state),
      el('dt', {}, 'Held by'), el('dd', {}, c.holder ? org(names, c.holder) : 'nobody (in use)'));
    if (c.pending_to) state.append(el('dt', {}, 'Handed over to'), el('dd', {}, org(names, c.pending_to)));
    state.hidden = false;
    const events = scan.events || [];
    list.replaceChildren(...events.map((e) => {
      const when = new Date(e.at);
      return el('li', { 'data-event-id': e.event_id },
        el('time', { datetime: e.at }, when.toISOString().slice(0, 16).replace('T', ' ') + ' UTC'),
        ' ',
        el('strong', {}, e.action),
        el('span', { class: 'by' }, ' by ', org(names, e.org_id)),
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
      // The tier is named twice: in the access section and in the footer.
      for (const slot of ['access-tier', 'footer-tier']) {
        if ($(slot)) $(slot).textContent = passport.body.tier;
      }
      showComponents(passport.body);
    }
    const scan = await api('/api/v1/custody/' + encodeURIComponent(id), key);
    if (scan.status === 200) showCustody(scan.body); else custodyRefused(scan.status, scan.body);
    if (who.body.role === 'recycler' && scan.status === 200 && !$('field-link')) {
      // The steps themselves are recorded on the field page (it takes the key of this tab).
      section.append(el('p', {}, el('a', { id: 'field-link', href: '/scan?passport=' + encodeURIComponent(id) },
        'Record a custody step on the field page')));
    }
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
