// The field page's forms: one per custody step (with the fields the step takes: measured mass,
// where it happened, the next holder of a handover) and the guided dismantling and recycling
// forms, which show the product's magnets and removal steps and take the recovered masses per
// element. Each form gives back the request body the custody API takes; the page queues it.
'use strict';

(function () {
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? '' : value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const words = (code) => String(code).replace(/_/g, ' ');
  const COUNTRY = 'reetrace.field.country';

  // A labelled input; `id` is unique within the page (the forms are shown one at a time).
  function field(id, label, input, hint) {
    input.id = id;
    return el('p', { class: 'field' }, el('label', { for: id }, label), input,
      hint ? el('span', { class: 'hint', id: id + '-hint' }, hint) : null);
  }

  const grams = (attrs) => el('input', Object.assign({ type: 'text', inputmode: 'decimal', autocomplete: 'off', pattern: '[0-9]+([.][0-9]+)?' }, attrs || {}));

  // The grams typed in `id`, or undefined when empty; an error names the field.
  function mass(form, id, what, required) {
    const text = form.querySelector('#' + id).value.trim().replace(',', '.');
    if (text === '') {
      if (required) throw new Error(what + ': enter the mass in grams.');
      return undefined;
    }
    if (!/^\d+(\.\d+)?$/.test(text)) throw new Error(what + ': "' + text + '" is not a mass in grams.');
    return Number(text);
  }

  // Where it happened: a country from the list (the last one chosen is kept on this device),
  // a place name, and the device's position if the user asks for it.
  function whereFields() {
    const country = el('select', {});
    country.append(el('option', { value: '' }, 'Country (optional)'));
    country.append(document.getElementById('countries').content.cloneNode(true));
    try { country.value = localStorage.getItem(COUNTRY) || ''; } catch (_) { /* no storage */ }
    const position = el('input', { type: 'checkbox' });
    position.id = 'f-position';
    return [
      field('f-country', 'Country', country),
      field('f-place', 'Place (optional)', el('input', { type: 'text', maxlength: '200', autocomplete: 'off' })),
      el('p', { class: 'field check' }, position, el('label', { for: 'f-position' }, ' Add this device\'s position')),
      field('f-note', 'Note (optional)', el('input', { type: 'text', maxlength: '1000', autocomplete: 'off' })),
    ];
  }

  function position() {
    return new Promise((resolve) => {
      if (!navigator.geolocation) { resolve(null); return; }
      navigator.geolocation.getCurrentPosition(
        (p) => resolve('geo:' + p.coords.latitude.toFixed(6) + ',' + p.coords.longitude.toFixed(6)),
        () => resolve(null), { timeout: 10000, maximumAge: 60000 });
    });
  }

  // The location, note and time of a step or transformation.
  async function where(form, body) {
    const location = {};
    const country = form.querySelector('#f-country').value;
    if (country) {
      location.country = country;
      try { localStorage.setItem(COUNTRY, country); } catch (_) { /* no storage */ }
    }
    const place = form.querySelector('#f-place').value.trim();
    if (place) location.name = place;
    if (form.querySelector('#f-position').checked) {
      const geo = await position();
      if (!geo) throw new Error('The device\'s position is not available: untick it or allow it.');
      location.id = geo;
    }
    if (Object.keys(location).length) body.location = location;
    const note = form.querySelector('#f-note').value.trim();
    if (note) body.note = note;
    body.at = new Date().toISOString();
    return body;
  }

  // The fields of a custody step. `recipients` lists the organisations a handover may name
  // ([{id, name}]), or is null when the key may not list them (then the id is typed).
  function stepFields(action, recipients) {
    const fields = [];
    if (action === 'handover') {
      if (recipients && recipients.length) {
        const select = el('select', { required: true }, el('option', { value: '' }, 'Choose the organisation'));
        for (const r of recipients) select.append(el('option', { value: r.id }, r.name));
        fields.push(field('f-to', 'Hand over to', select));
      } else {
        fields.push(field('f-to', 'Hand over to (the organisation\'s id)',
          el('input', { type: 'text', required: true, autocomplete: 'off', spellcheck: 'false' }),
          'Ask the receiving organisation for its id (GET /api/v1/whoami shows it).'));
      }
    }
    if (action !== 'handover') fields.push(field('f-mass', 'Measured mass in grams (optional)', grams()));
    return fields.concat(whereFields());
  }

  async function stepBody(form, action) {
    const body = { action };
    if (action === 'handover') {
      const to = form.querySelector('#f-to').value.trim();
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(to)) {
        throw new Error('Hand over to: choose an organisation (or type its id).');
      }
      body.to_org = to.toLowerCase();
    } else {
      const measured = mass(form, 'f-mass', 'Measured mass');
      if (measured !== undefined) body.measured_mass_g = measured;
    }
    return where(form, body);
  }

  // What the passport says about the magnets and how to take them out (professional tier).
  function guide(details) {
    const out = [];
    if (!details) {
      out.push(el('p', { class: 'note' }, 'The component details are not shown to this key: its passport tier is public.'));
      return out;
    }
    for (const c of details.components || []) {
      const magnets = (c.magnets || []).map((m) => el('li', { class: 'magnet' },
        el('strong', {}, m.count + ' × ' + m.unit_mass_g + ' g ' + String(m.type).toUpperCase()),
        m.grade ? ' ' + m.grade : '', m.position ? ' · ' + m.position : ''));
      out.push(el('div', { class: 'component' },
        el('h4', {}, c.name + ' (' + c.material + ', ' + c.mass_g + ' g)'),
        el('p', {}, el('strong', {}, 'Where: '), c.location || 'not stated'),
        el('p', {}, el('strong', {}, 'How to take it out: '), c.removal || 'not stated'),
        magnets.length ? el('ul', { class: 'magnets' }, ...magnets) : null));
    }
    const steps = details.removal_steps || [];
    if (steps.length) {
      out.push(el('h4', {}, 'Removal sequence'));
      out.push(el('ol', { class: 'steps' }, ...steps.map((s) => el('li', {},
        el('strong', {}, words(s.action)), s.detail ? ': ' + s.detail : '',
        s.tools && s.tools.length ? ' (' + s.tools.map((t) => words(t.tool) + (t.size ? ' ' + t.size : '')).join(', ') + ')' : ''))));
    }
    return out;
  }

  // One input per element of `elements` ([{element, mass_g}]: what went in), for what was
  // recovered.
  function elementInputs(elements, what) {
    const rows = (elements || []).map((e) => el('tr', {},
      el('th', { scope: 'row' }, e.element),
      el('td', { class: 'num' }, String(e.mass_g)),
      el('td', {}, grams({ id: 'f-el-' + e.element, 'data-element': e.element, 'aria-label': 'Recovered ' + e.element + ' in grams' }))));
    return el('table', { class: 'elements' },
      el('caption', {}, what),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Element'), el('th', { scope: 'col', class: 'num' }, 'In (g)'), el('th', { scope: 'col' }, 'Recovered (g)'))),
      el('tbody', {}, ...rows));
  }

  function recovered(form) {
    const out = [];
    for (const input of form.querySelectorAll('input[data-element]')) {
      const m = mass(form, input.id, 'Recovered ' + input.dataset.element);
      if (m !== undefined && m > 0) out.push({ element: input.dataset.element, mass_g: m });
    }
    if (!out.length) throw new Error('Enter the recovered mass of at least one element.');
    return out;
  }

  // The guided dismantling of a product: its magnets and removal steps, then the magnet lot
  // recovered (material, mass, per element).
  function dismantlingFields(product, details) {
    const magnetic = details && (details.components || []).find((c) => (c.magnets || []).length) ;
    const material = el('input', { type: 'text', required: true, maxlength: '200', value: magnetic ? magnetic.material : 'NdFeB-sintered' });
    return [
      el('div', { class: 'guide' }, el('h3', {}, 'Where the magnets are'), ...guide(details)),
      el('h3', {}, 'What you recovered'),
      field('f-material', 'Material of the magnet lot', material),
      field('f-out-mass', 'Mass of the lot in grams', grams({ required: true })),
      elementInputs(product.elements, 'Rare-earth elements: declared per unit, and recovered'),
    ].concat(whereFields());
  }

  async function dismantlingBody(form, product) {
    const output = {
      kind: 'lot',
      material: form.querySelector('#f-material').value.trim(),
      mass_g: mass(form, 'f-out-mass', 'Mass of the lot', true),
      elements: recovered(form),
    };
    if (!output.material) throw new Error('Material of the magnet lot: name it.');
    return where(form, { process: 'dismantling', inputs: [{ passport: product.passport_id }], outputs: [output] });
  }

  // The guided recycling of a product or of (part of) a lot into an oxide, metal or alloy lot.
  function recyclingFields(subject) {
    const kind = el('select', {},
      el('option', { value: 'oxide' }, 'oxide'), el('option', { value: 'metal' }, 'metal'), el('option', { value: 'alloy' }, 'alloy'));
    const fields = [];
    if (subject.kind === 'lot') {
      fields.push(field('f-take', 'Grams of the lot to recycle (empty: all that is left, ' + subject.lot.remaining_g + ' g)', grams()));
    }
    const elements = subject.kind === 'lot' ? subject.lot.remaining : subject.scan.product.elements;
    return fields.concat([
      el('h3', {}, 'What you recovered'),
      field('f-kind', 'Kind', kind),
      field('f-material', 'Material', el('input', { type: 'text', required: true, maxlength: '200', placeholder: 'e.g. NdPr oxide' })),
      field('f-out-mass', 'Mass in grams', grams({ required: true })),
      elementInputs(elements, 'Rare-earth elements: in, and recovered'),
      field('f-gtin', 'GTIN of the output (optional, with a lot number)', el('input', { type: 'text', inputmode: 'numeric', autocomplete: 'off' })),
      field('f-lot-number', 'Lot number (optional)', el('input', { type: 'text', autocomplete: 'off', maxlength: '20' })),
    ]).concat(whereFields());
  }

  async function recyclingBody(form, subject) {
    const input = subject.kind === 'lot' ? { lot: subject.id } : { passport: subject.id };
    if (subject.kind === 'lot') {
      const take = mass(form, 'f-take', 'Grams of the lot');
      if (take !== undefined) input.mass_g = take;
    }
    const output = {
      kind: form.querySelector('#f-kind').value,
      material: form.querySelector('#f-material').value.trim(),
      mass_g: mass(form, 'f-out-mass', 'Mass', true),
      elements: recovered(form),
    };
    if (!output.material) throw new Error('Material: name it (e.g. NdPr oxide).');
    const gtin = form.querySelector('#f-gtin').value.trim();
    const lotNumber = form.querySelector('#f-lot-number').value.trim();
    if (gtin || lotNumber) {
      if (!gtin || !lotNumber) throw new Error('A GTIN and a lot number go together: give both or neither.');
      output.gtin = gtin;
      output.lot_number = lotNumber;
    }
    return where(form, { process: 'recycling', inputs: [input], outputs: [output] });
  }

  window.ReetraceForms = { el, stepFields, stepBody, dismantlingFields, dismantlingBody, recyclingFields, recyclingBody };
})();
