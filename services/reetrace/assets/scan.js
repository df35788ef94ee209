// The field page (/scan): a recycler finds a product or a lot (camera, photo, or typed code),
// sees its custody and the steps allowed now, and records them. Every step is queued on the
// device first (scan-queue.js) with its Idempotency-Key and sent in order, at once when the
// network is there, later when it comes back. The API decides what is allowed; offline, the
// page predicts the next steps with the same state machine as the server
// (services/custody/src/domain/state.rs) and shows what the server later accepted or refused.
'use strict';

(function () {
  const Q = window.ReetraceQueue;
  const F = window.ReetraceForms;
  const el = F.el;
  const $ = (id) => document.getElementById(id);
  const SESSION_KEY = 'reetrace.apiKey';
  const IDENTITY = 'reetrace.field.identity';
  const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
  const MAX_PHOTO = 8 * 1024 * 1024;

  let me = null; // {key, org_id, org_name, role, remembered}
  let subject = null; // {kind: 'product'|'lot', id, scan|lot, details, fetched_at, offline}

  // ---- the key ---------------------------------------------------------------------------

  // The key is kept in this tab (sessionStorage), or on the device (localStorage) when the
  // user chose so; forgetting it removes it from both.
  function storedIdentity() {
    for (const store of [localStorage, sessionStorage]) {
      try {
        const text = store.getItem(IDENTITY);
        if (text) return JSON.parse(text);
      } catch (_) { /* storage disabled */ }
    }
    return null;
  }

  function keep(identity) {
    try {
      localStorage.removeItem(IDENTITY);
      sessionStorage.removeItem(IDENTITY);
      sessionStorage.removeItem(SESSION_KEY);
      if (identity) {
        (identity.remembered ? localStorage : sessionStorage).setItem(IDENTITY, JSON.stringify(identity));
        sessionStorage.setItem(SESSION_KEY, identity.key);
      }
    } catch (_) { /* storage disabled: the key lasts until the page is left */ }
  }

  async function api(path, options) {
    const headers = Object.assign({ Accept: 'application/json' }, (options && options.headers) || {});
    if (me) headers.Authorization = 'Bearer ' + me.key;
    const response = await fetch(path, Object.assign({ cache: 'no-store' }, options || {}, { headers }));
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    return { status: response.status, body };
  }

  async function useKey(key, remembered) {
    const previous = me;
    me = { key };
    let who;
    try {
      who = await api('/api/v1/whoami');
    } catch (_) {
      me = previous;
      $('key-status').textContent = 'The key cannot be checked without the network; try again when online.';
      return;
    }
    if (who.status !== 200) {
      me = previous;
      $('key-status').textContent = who.status === 401
        ? 'That key is not valid (or was revoked); it was not kept.'
        : 'The key could not be checked (HTTP ' + who.status + ').';
      return;
    }
    me = { key, org_id: who.body.org_id, org_name: who.body.org_name, role: who.body.role, remembered };
    keep(me);
    signedIn();
  }

  function signedIn() {
    $('key-form').hidden = true;
    $('who-line').hidden = false;
    $('who').textContent = me.org_name + ' (' + me.role + ')' + (me.remembered ? ', remembered on this device' : '');
    $('key-status').textContent = me.role === 'recycler'
      ? 'Steps are recorded as ' + me.org_name + '.'
      : 'This key\'s role is ' + me.role + ': only recycler keys record custody steps.';
    $('find').hidden = false;
    send();
  }

  function forget() {
    keep(null);
    me = null;
    subject = null;
    $('subject').hidden = true;
    $('find').hidden = true;
    $('who-line').hidden = true;
    $('key-form').hidden = false;
    $('key-status').textContent = 'The key was forgotten on this device. Steps not yet sent wait for a key of their organisation.';
    showQueue();
  }

  // ---- custody rules, for the steps predicted offline -------------------------------------

  const ACTIONS = ['collect', 'receive', 'sort', 'handover', 'accept', 'destroy', 'export'];
  const TERMINAL = ['recycled', 'destroyed', 'exported', 'consumed'];
  const ACCEPTS = { dismantling: ['received', 'sorted'], recycling: ['sorted', 'dismantled'] };

  // The custody after `org` records `action` (as state.rs `step`), or null when refused.
  function after(c, action, org, to) {
    if (TERMINAL.includes(c.state)) return null;
    if (action === 'accept') {
      if (c.pending_to !== org) return null;
      return { state: c.state === 'collected' ? 'received' : c.state === 'handover_pending' ? 'held' : c.state, holder: org, pending_to: null };
    }
    if (c.pending_to) return null;
    if (action === 'collect') return c.state === 'in_use' ? { state: 'collected', holder: org, pending_to: null } : null;
    if (c.holder !== org) return null;
    const next = { holder: c.holder, pending_to: null };
    if (action === 'receive' && c.state === 'collected') return Object.assign(next, { state: 'received' });
    if (action === 'sort' && c.state === 'received') return Object.assign(next, { state: 'sorted' });
    if (action === 'handover') return to && to !== org ? Object.assign(next, { state: c.state === 'held' ? 'handover_pending' : c.state, pending_to: to }) : null;
    if (action === 'destroy') return Object.assign(next, { state: 'destroyed' });
    if (action === 'export') return Object.assign(next, { state: 'exported' });
    return null;
  }

  function allowed(c, kind) {
    const actions = ACTIONS.filter((a) => (kind === 'lot' ? !['collect', 'receive', 'sort'].includes(a) : true) &&
      after(c, a, me.org_id, a === 'handover' ? 'another' : null));
    const ok = !TERMINAL.includes(c.state) && !c.pending_to && c.holder === me.org_id;
    const processes = kind === 'lot'
      ? (ok && c.state === 'held' ? ['recycling'] : [])
      : Object.keys(ACCEPTS).filter((p) => ok && ACCEPTS[p].includes(c.state));
    return { actions, processes };
  }

  function custodyOf(s) {
    if (s.kind === 'product') return Object.assign({ holder: null, pending_to: null }, s.scan.custody);
    return { state: s.lot.state, holder: s.lot.holder || null, pending_to: s.lot.pending_to || null };
  }

  // The custody as it will be once the steps on this device are sent: the server's, then the
  // answers received since it was read, then the steps still queued.
  function predicted(s, entries) {
    let c = custodyOf(s);
    let pending = 0;
    for (const e of entries) {
      if (e.subject !== s.id || e.org_id !== me.org_id) continue;
      if (e.status === 'accepted' && e.answered_at > s.fetched_at && e.answer && e.answer.custody) {
        c = Object.assign({ holder: null, pending_to: null }, e.answer.custody);
      } else if (e.status === 'queued') {
        pending += 1;
        if (e.kind === 'step') c = after(c, e.body.action, me.org_id, e.body.to_org) || c;
        else c = Object.assign({}, c, { state: s.kind === 'lot' ? 'consumed' : e.body.process === 'dismantling' ? 'dismantled' : 'recycled' });
      }
    }
    return { custody: c, pending };
  }

  // ---- finding a product or a lot ---------------------------------------------------------

  function say(text) { $('find-status').textContent = text; }

  // Opens what a scanned or typed text names: a lot or passport id, a link to one, a GS1
  // Digital Link, a GS1 element string, or a GTIN and a serial.
  async function openText(text) {
    const t = String(text || '').trim();
    if (!t) return;
    const lot = t.match(/\/lots\/([0-9a-f-]{36})/i);
    if (lot) return openLot(lot[1].toLowerCase());
    const link = t.match(/\/01\/(\d{8,14})\/(21|10)\/([^/?#]+)/);
    if (link) return openDigitalLink(link[1], link[2], decodeURIComponent(link[3]));
    const elements = t.replace(/\u001d/g, '(GS)').match(/^\(?01\)?(\d{14})\(?(21|10)\)?([^(]+)/);
    if (elements) return openDigitalLink(elements[1], elements[2], elements[3].replace(/\(GS\)$/, ''));
    const typed = t.match(/^(\d{8}|\d{12,14})\s+(\S+)$/);
    if (typed) return openDigitalLink(typed[1], '21', typed[2]);
    const id = t.match(UUID);
    if (id) return openId(id[0].toLowerCase());
    say('"' + t + '" is not a passport id, a lot id, a link or a GTIN with a serial.');
  }

  // A Digital Link names a passport; its linkset holds the passport's API links (and a lot's
  // when a recycled lot carries that GTIN and lot number).
  async function openDigitalLink(gtin, ai, value) {
    say('Looking up GTIN ' + gtin + (ai === '21' ? ', serial ' : ', lot ') + value + '…');
    let answer;
    try {
      answer = await api('/01/' + gtin + '/' + ai + '/' + encodeURIComponent(value) + '?linkType=linkset',
        { headers: { Accept: 'application/linkset+json' } });
    } catch (_) {
      return say('Looking a GTIN up needs the network; open a product seen before by its id.');
    }
    if (answer.status !== 200) {
      return say(answer.status === 404 ? 'No passport has this GTIN and ' + (ai === '21' ? 'serial.' : 'lot.') : problemText(answer.body, answer.status));
    }
    const text = JSON.stringify(answer.body);
    const passport = text.match(/\/api\/v1\/passports\/([0-9a-f-]{36})/i);
    if (passport) return openProduct(passport[1].toLowerCase());
    const lot = text.match(/\/lots\/([0-9a-f-]{36})/i);
    if (lot) return openLot(lot[1].toLowerCase());
    say('The link was found but names no passport this page can open.');
  }

  async function openId(id) {
    if (await openProduct(id, true)) return;
    await openLot(id);
  }

  // `quiet404`: say nothing when there is no such product (the id may be a lot's).
  async function openProduct(id, quiet404) {
    say('Opening the product…');
    let scan;
    try {
      scan = await api('/api/v1/custody/' + id);
    } catch (_) {
      return openSaved(id);
    }
    if (scan.status === 404 && quiet404) return false;
    if (scan.status !== 200) { say(problemText(scan.body, scan.status)); return true; }
    let details = null;
    const passport = await api('/api/v1/passports/' + id).catch(() => null);
    if (passport && passport.status === 200 && passport.body.component_details) details = passport.body.component_details;
    show({ kind: 'product', id, scan: scan.body, details, fetched_at: new Date().toISOString() });
    return true;
  }

  async function openLot(id) {
    say('Opening the lot…');
    let lot;
    try {
      lot = await api('/api/v1/lots/' + id);
    } catch (_) {
      return openSaved(id);
    }
    if (lot.status !== 200) return say(lot.status === 404 ? 'No product or lot has this id.' : problemText(lot.body, lot.status));
    show({ kind: 'lot', id, lot: lot.body, fetched_at: new Date().toISOString() });
  }

  // Offline: the product or lot as last seen on this device.
  async function openSaved(id) {
    const saved = await Q.loadSubject(id).catch(() => null);
    if (!saved) { say('No network, and this device has not opened it before.'); return true; }
    show(Object.assign(saved, { offline: true }));
    return true;
  }

  async function decodePhoto(file) {
    if (!file) return;
    if (file.size > MAX_PHOTO) return say('The photo is larger than 8 MB; take it again at a lower resolution.');
    say('Reading the code in the photo…');
    let answer;
    try {
      answer = await api('/api/v1/scan/decode', { method: 'POST', body: file, headers: { 'Content-Type': file.type || 'application/octet-stream' } });
    } catch (_) {
      return say('Reading a photo needs the network: type the code printed under it instead.');
    }
    if (answer.status === 422) return say('No QR code or DataMatrix was found in the photo: try closer, with more light.');
    if (answer.status === 413) return say('The photo is larger than the server takes (8 MB).');
    if (answer.status !== 200) return say(problemText(answer.body, answer.status));
    await openText(answer.body.target || answer.body.text);
  }

  let camera = null;

  async function startCamera() {
    const formats = (await BarcodeDetector.getSupportedFormats()).filter((f) => f === 'qr_code' || f === 'data_matrix');
    if (!formats.length) return say('This browser\'s scanner reads neither QR codes nor DataMatrix: take a photo instead.');
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    } catch (_) {
      return say('The camera is not available (not allowed, or the page is not on HTTPS): take a photo instead.');
    }
    const video = $('camera-video');
    video.srcObject = stream;
    await video.play();
    $('camera').hidden = false;
    const detector = new BarcodeDetector({ formats });
    camera = setInterval(async () => {
      const codes = await detector.detect(video).catch(() => []);
      if (codes.length) {
        stopCamera();
        openText(codes[0].rawValue);
      }
    }, 300);
  }

  function stopCamera() {
    clearInterval(camera);
    camera = null;
    const video = $('camera-video');
    if (video.srcObject) video.srcObject.getTracks().forEach((t) => t.stop());
    video.srcObject = null;
    $('camera').hidden = true;
  }

  // ---- showing it, and its steps ----------------------------------------------------------

  const STATES = {
    in_use: 'in use', collected: 'collected', received: 'received', sorted: 'sorted', dismantled: 'dismantled',
    recycled: 'recycled', destroyed: 'destroyed', exported: 'exported', held: 'held',
    handover_pending: 'handover pending', consumed: 'consumed',
  };
  const LABELS = {
    collect: 'Collect', receive: 'Receive', sort: 'Sort', handover: 'Hand over', accept: 'Accept',
    destroy: 'Destroy', export: 'Export', dismantling: 'Dismantle', recycling: 'Recycle',
  };
  // An organisation by name where the answer names it (`names`, by id), else by id.
  const org = (id) => {
    if (!id) return 'nobody';
    if (id === me.org_id) return 'you (' + me.org_name + ')';
    const names = subject && ((subject.scan && subject.scan.names) || (subject.lot && subject.lot.names));
    return (names && names[id]) || id;
  };

  async function show(s) {
    // The same product or lot read again (after an answer) keeps an open form open.
    const same = subject && subject.id === s.id && subject.kind === s.kind;
    subject = s;
    if (!s.offline) Q.saveSubject(Object.assign({}, s, { offline: undefined })).catch(() => {});
    say('');
    if (!same) $('step-form').hidden = true;
    await render();
    $('subject').hidden = false;
  }

  async function render() {
    if (!subject || !me) return;
    const s = subject;
    const entries = await Q.steps();
    const { custody, pending } = predicted(s, entries);
    $('subject').dataset.kind = s.kind;
    $('subject').dataset.id = s.id;
    $('subject').dataset.state = custody.state;
    const facts = $('subject-facts');
    const row = (term, value, id) => facts.append(el('dt', {}, term), el('dd', id ? { id } : {}, value));
    facts.replaceChildren();
    if (s.kind === 'product') {
      const p = s.scan.product;
      $('subject-h').textContent = p.name;
      row('Category', p.category.replace(/_/g, ' '));
      row('Passport', p.passport_status + ' (' + p.granularity + ')');
      row('Rare earths per unit', p.elements.map((e) => e.element + ' ' + e.mass_g + ' g').join(', ') || 'none declared');
    } else {
      const l = s.lot;
      $('subject-h').textContent = 'Lot of ' + l.material;
      row('Kind', l.kind);
      row('Mass', l.mass_g + ' g, ' + l.remaining_g + ' g left');
      row('Rare earths left', l.remaining.map((e) => e.element + ' ' + e.mass_g + ' g').join(', ') || 'none');
    }
    row('State', STATES[custody.state] || custody.state, 'subject-state');
    // A scan shows the holder only to those involved in the product (and regulators).
    row('Held by', custody.holder ? org(custody.holder)
      : custody.state === 'in_use' ? 'nobody (in use)' : 'not shown to your key', 'subject-holder');
    if (custody.pending_to) row('Handed over to', org(custody.pending_to));
    $('subject-note').textContent = (s.offline ? 'As this device last saw it (' + s.fetched_at.slice(0, 16).replace('T', ' ') + ' UTC). ' : '') +
      (pending ? pending + ' step' + (pending === 1 ? '' : 's') + ' on this device not yet sent: the steps shown follow from them.' : '');
    const next = !pending && !s.offline && s.kind === 'product' ? s.scan.next : allowed(custody, s.kind);
    const actions = $('actions');
    actions.replaceChildren(...next.actions.map((a) => el('button', { type: 'button', class: 'action', 'data-action': a }, LABELS[a])),
      ...next.processes.map((p) => el('button', { type: 'button', class: 'action', 'data-process': p }, LABELS[p])));
    if (!actions.children.length) actions.append(el('p', { class: 'note' }, me.role === 'recycler' ? 'No step is open to you now.' : 'Only recycler keys record steps.'));
    const events = (s.kind === 'product' ? s.scan.events : s.lot.events) || [];
    $('events').replaceChildren(...events.map((e) => el('li', { 'data-event-id': e.event_id },
      el('time', { datetime: e.at }, e.at.slice(0, 16).replace('T', ' ')), ' ', el('strong', {}, e.action), ' by ', org(e.org_id))));
    if (!events.length) $('events').append(el('li', { class: 'note' }, 'No event yet.'));
  }

  let recipients;

  // Organisations a handover may name, by name ([{id, name}]), or null: then the page asks for
  // the recipient's id. The organisation directory (GET /api/v1/directory/orgs, any key)
  // answers where the server has it; otherwise the list of organisations, which only
  // administrators may read (GET /api/v1/orgs). One function, so that either can change.
  async function handoverRecipients() {
    if (recipients !== undefined) return recipients;
    const sources = ['/api/v1/directory/orgs?role=recycler&limit=100', '/api/v1/orgs?role=recycler&limit=1000'];
    try {
      for (const path of sources) {
        const answer = await api(path);
        if (answer.status !== 200) continue;
        recipients = answer.body.items.filter((o) => o.id !== me.org_id).map((o) => ({ id: o.id, name: o.name }));
        return recipients;
      }
    } catch (_) {
      return null;
    }
    recipients = null;
    return recipients;
  }

  async function openForm(action, process) {
    const form = $('step-form');
    const s = subject;
    let fields;
    if (process === 'dismantling') fields = F.dismantlingFields(s.scan.product, s.details);
    else if (process === 'recycling') fields = F.recyclingFields(s);
    else fields = F.stepFields(action, action === 'handover' ? await handoverRecipients() : null);
    const what = LABELS[action || process];
    form.replaceChildren(el('h3', {}, what), ...fields,
      el('p', { class: 'form-error', id: 'form-error', role: 'alert' }),
      el('p', { class: 'buttons' }, el('button', { type: 'submit', id: 'step-submit' }, 'Record: ' + what.toLowerCase()),
        ' ', el('button', { type: 'button', id: 'step-cancel' }, 'Cancel')));
    form.dataset.action = action || '';
    form.dataset.process = process || '';
    form.hidden = false;
    $('step-cancel').addEventListener('click', () => { form.hidden = true; });
    form.scrollIntoView({ block: 'start' });
  }

  async function submitForm(event) {
    event.preventDefault();
    const form = $('step-form');
    const s = subject;
    const action = form.dataset.action;
    const process = form.dataset.process;
    let body;
    try {
      if (process === 'dismantling') body = await F.dismantlingBody(form, s.scan.product);
      else if (process === 'recycling') body = await F.recyclingBody(form, s);
      else body = await F.stepBody(form, action);
    } catch (error) {
      $('form-error').textContent = error.message;
      return;
    }
    const name = s.kind === 'product' ? s.scan.product.name : 'lot of ' + s.lot.material;
    await Q.record({
      org_id: me.org_id,
      subject: s.id,
      subject_kind: s.kind,
      kind: process ? 'transformation' : 'step',
      path: process ? '/api/v1/custody/transformations'
        : (s.kind === 'product' ? '/api/v1/custody/' : '/api/v1/lots/') + s.id + '/events',
      body,
      label: LABELS[action || process] + ': ' + name,
    });
    form.hidden = true;
    await render();
    await send();
  }

  // ---- the queue ------------------------------------------------------------------------

  function problemText(problem, status) {
    if (!problem) return 'HTTP ' + status;
    const parts = [problem.title || ('HTTP ' + status)];
    if (problem.detail) parts.push(problem.detail);
    for (const e of problem.errors || []) parts.push((e.pointer || '') + ' ' + (e.detail || e.message || ''));
    return parts.join(': ');
  }

  async function showQueue() {
    const entries = await Q.steps();
    const list = $('queue');
    list.replaceChildren(...entries.map((e) => {
      const li = el('li', { 'data-status': e.status, 'data-key': e.idempotency_key },
        el('strong', {}, e.label), ' ',
        el('time', { datetime: e.recorded_at }, e.recorded_at.slice(0, 16).replace('T', ' ')), ' · ');
      if (e.status === 'accepted') {
        li.append(el('span', { class: 'accepted' }, 'accepted'), ' (log leaf ' + e.answer.leaf_index + ')');
        for (const lot of (e.answer && e.answer.lots) || []) {
          li.append(' ', el('button', { type: 'button', class: 'open-lot', 'data-lot': lot.lot_id }, 'Open the lot of ' + lot.material));
        }
      } else if (e.status === 'refused') {
        li.append(el('span', { class: 'refused' }, 'refused'), ': ', el('span', { class: 'reason' }, problemText(e.problem, e.http_status)));
      } else {
        li.append(el('span', { class: 'queued' }, 'waiting to be sent'),
          e.org_id !== (me && me.org_id) ? ' (needs a key of the organisation that recorded it)' : '',
          e.last_status ? ' (the server answered ' + e.last_status + '; tried ' + e.attempts + ' times)' : '');
      }
      return li;
    }));
    if (!entries.length) list.append(el('li', { class: 'note' }, 'None yet.'));
    const waiting = entries.filter((e) => e.status === 'queued').length;
    $('network').textContent = (navigator.onLine ? 'Online. ' : 'Offline: steps are kept on this device and sent when the network returns. ') +
      (waiting ? waiting + ' waiting to be sent.' : 'Nothing waiting.');
    document.body.dataset.queued = String(waiting);
  }

  let sending = null;
  let again = false;

  // Sends what is queued; a call while sending makes one more round after it (a step
  // recorded meanwhile is not left waiting for the next trigger).
  function send() {
    if (sending) {
      again = true;
      return sending;
    }
    sending = (async () => {
      do {
        again = false;
        await sendOnce();
      } while (again);
    })().finally(() => { sending = null; });
    return sending;
  }

  async function sendOnce() {
    await showQueue();
    if (!me) return;
    let touched = false;
    const round = await Q.flush(me.key, me.org_id, (entry) => {
      if (subject && entry.subject === subject.id && entry.status !== 'queued') touched = true;
      showQueue();
    });
    // How the last round ended (for people: the queue's text; for tests: these attributes).
    document.body.dataset.rounds = String(Number(document.body.dataset.rounds || 0) + 1);
    document.body.dataset.lastRound = round.offline ? 'offline' : round.waiting ? 'waiting' : 'done';
    await showQueue();
    if (touched && subject) {
      // The server's custody after the answers (the page predicted it until now).
      if (subject.kind === 'product') await openProduct(subject.id); else await openLot(subject.id);
    } else {
      await render();
    }
  }

  // ---- start ------------------------------------------------------------------------------

  async function start() {
    $('key-form').hidden = false;
    $('key-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const key = $('api-key').value.trim();
      $('api-key').value = '';
      if (key) useKey(key, $('remember').checked);
    });
    $('key-forget').addEventListener('click', forget);
    $('lookup-form').addEventListener('submit', (event) => {
      event.preventDefault();
      openText($('lookup').value);
    });
    $('photo').addEventListener('change', () => {
      decodePhoto($('photo').files[0]);
      $('photo').value = '';
    });
    if ('BarcodeDetector' in window && navigator.mediaDevices) {
      $('camera-start').hidden = false;
      $('camera-start').addEventListener('click', startCamera);
      $('camera-stop').addEventListener('click', stopCamera);
    }
    $('actions').addEventListener('click', (event) => {
      const button = event.target.closest('button');
      if (button) openForm(button.dataset.action, button.dataset.process);
    });
    $('step-form').addEventListener('submit', submitForm);
    $('queue').addEventListener('click', (event) => {
      const button = event.target.closest('button.open-lot');
      if (button) openLot(button.dataset.lot);
    });
    $('queue-send').addEventListener('click', send);
    $('queue-clear').addEventListener('click', async () => { await Q.clearFinished(); showQueue(); });
    window.addEventListener('online', send);
    window.addEventListener('offline', showQueue);
    setInterval(() => { if (document.body.dataset.queued !== '0') send(); }, 20000);

    const identity = storedIdentity();
    if (identity) {
      me = identity;
      signedIn();
    } else {
      // A key entered on a passport page of this tab is used here too.
      let key = null;
      try { key = sessionStorage.getItem(SESSION_KEY); } catch (_) { key = null; }
      if (key) await useKey(key, false); else showQueue();
    }
    // Linked from a passport page: /scan?passport=<id> (or ?lot=<id>).
    const wanted = new URLSearchParams(location.search);
    if (me && UUID.test(wanted.get('passport') || '')) openProduct(wanted.get('passport').toLowerCase());
    else if (me && UUID.test(wanted.get('lot') || '')) openLot(wanted.get('lot').toLowerCase());

    if ('serviceWorker' in navigator) {
      navigator.serviceWorker.register('/scan-sw.js', { scope: '/scan' }).catch(() => {
        $('network').textContent = 'This page could not be made available offline here (it needs HTTPS off localhost).';
      });
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
