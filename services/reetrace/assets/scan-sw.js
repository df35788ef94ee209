// The field page's service worker (scope /scan): keeps the page and its assets on the device
// so that /scan opens without network. Pages and assets come from the network when it answers
// (so an upgraded server is seen at once) and from the device's copy when it does not. API
// requests are not touched: the page itself queues the steps it could not send.
'use strict';

const CACHE = 'reetrace-field-{{version}}';
const SHELL = [
  '/scan',
  '/assets/scan.css',
  '/assets/scan-queue.js',
  '/assets/scan-forms.js',
  '/assets/scan.js',
  '/assets/favicon.svg',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith('reetrace-field-') && n !== CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const page = request.mode === 'navigate' && url.pathname === '/scan';
  if (!page && !SHELL.includes(url.pathname)) return;
  const shell = page ? '/scan' : url.pathname;
  event.respondWith(fetch(request)
    .then((response) => {
      if (response.ok) {
        const copy = response.clone();
        caches.open(CACHE).then((cache) => cache.put(shell, copy));
      }
      return response;
    })
    .catch(() => caches.open(CACHE).then((cache) => cache.match(shell))
      .then((cached) => cached || Response.error())));
});
