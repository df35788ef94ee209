// The field page's memory on this device (IndexedDB): the steps recorded here, each with the
// Idempotency-Key made once when it was recorded, sent in the order they were recorded when the
// network allows; and the products and lots last opened, so that the page still shows them
// offline. A step is sent again only with its own key, so the server answers a replay with its
// first answer and never records the step twice.
'use strict';

(function () {
  const NAME = 'reetrace-field';
  let opened = null;

  function openDb() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(NAME, 1);
      request.onupgradeneeded = () => {
        const db = request.result;
        db.createObjectStore('steps', { keyPath: 'seq', autoIncrement: true });
        db.createObjectStore('subjects', { keyPath: 'id' });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  // Runs `work(store)` in one transaction; resolves with the result of the request it returns.
  async function inStore(name, mode, work) {
    const db = await (opened || (opened = openDb()));
    return new Promise((resolve, reject) => {
      const tx = db.transaction(name, mode);
      const request = work(tx.objectStore(name));
      let result;
      if (request) request.onsuccess = () => { result = request.result; };
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }

  const all = (name) => inStore(name, 'readonly', (s) => s.getAll());
  const put = (name, value) => inStore(name, 'readwrite', (s) => s.put(value));

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // Keeps a step to send: {org_id, subject, subject_kind, kind, path, body, label}. Its
  // Idempotency-Key is made here, once.
  async function record(step) {
    const entry = Object.assign({}, step, {
      idempotency_key: 'field-' + newKey(),
      status: 'queued',
      recorded_at: new Date().toISOString(),
      attempts: 0,
    });
    entry.seq = await put('steps', entry);
    return entry;
  }

  async function steps() {
    return (await all('steps')).sort((a, b) => a.seq - b.seq);
  }

  async function clearFinished() {
    const done = (await steps()).filter((s) => s.status === 'accepted' || s.status === 'refused');
    await inStore('steps', 'readwrite', (s) => { for (const d of done) s.delete(d.seq); });
  }

  // What the page needs of an answer (the EPCIS event itself is left out).
  function summary(body) {
    if (!body) return null;
    const out = { event_id: body.event_id, leaf_index: body.leaf_index, custody: body.custody };
    if (body.transformation_id) {
      out.transformation_id = body.transformation_id;
      out.lots = (body.lots || []).map((l) => ({ lot_id: l.lot_id, material: l.material, kind: l.kind, mass_g: l.mass_g }));
      out.losses = body.losses;
    }
    return out;
  }

  // Whether an answer settles the step: accepted, refused for good, or to be sent again later
  // (the server was busy or unavailable, another request with the key is still running, the
  // key was not accepted).
  function verdict(status, problem) {
    if (status >= 200 && status < 300) return 'accepted';
    if (status === 401 || status === 408 || status === 429 || status >= 500) return 'retry';
    if (status === 409 && problem && problem.code === 'concurrent_request') return 'retry';
    return 'refused';
  }

  let running = null;

  // Sends the queued steps of organisation `orgId` with `key`, oldest first, stopping at the
  // first that cannot be sent now (no network, server unavailable): the later ones wait behind
  // it so that the order is kept. `changed(entry)` is called after each answer.
  function flush(key, orgId, changed) {
    if (!running) running = send(key, orgId, changed).finally(() => { running = null; });
    return running;
  }

  async function send(key, orgId, changed) {
    let sent = 0;
    for (const entry of await steps()) {
      if (entry.status !== 'queued' || entry.org_id !== orgId) continue;
      entry.attempts += 1;
      let response;
      try {
        response = await fetch(entry.path, {
          method: 'POST',
          headers: {
            Accept: 'application/json', 'Content-Type': 'application/json',
            Authorization: 'Bearer ' + key, 'Idempotency-Key': entry.idempotency_key,
          },
          body: JSON.stringify(entry.body),
          cache: 'no-store',
        });
      } catch (_) {
        await put('steps', entry);
        return { offline: true, sent };
      }
      let body = null;
      try { body = await response.json(); } catch (_) { body = null; }
      const outcome = verdict(response.status, body);
      if (outcome === 'retry') {
        entry.last_status = response.status;
        await put('steps', entry);
        changed(entry);
        return { offline: false, waiting: response.status, sent };
      }
      entry.status = outcome;
      entry.http_status = response.status;
      entry.answered_at = new Date().toISOString();
      if (outcome === 'accepted') entry.answer = summary(body);
      else entry.problem = body || { title: 'HTTP ' + response.status };
      await put('steps', entry);
      sent += 1;
      changed(entry);
    }
    return { offline: false, sent };
  }

  // The products and lots last opened, as the server showed them.
  const saveSubject = (subject) => put('subjects', subject);
  const loadSubject = (id) => inStore('subjects', 'readonly', (s) => s.get(id));

  window.ReetraceQueue = { record, steps, flush, clearFinished, saveSubject, loadSubject };
})();
