/*
 * The tablet app's service worker (served at /tablet/sw.js by reports.tablet, which prepends
 * self.TABLET_SW_CONFIG: version, shell URL, the files to precache and the API answers that
 * may be kept).
 *
 * - The shell page, its JS/CSS, Leaflet and the icons are stored at install: after one online
 *   visit the app opens with no connection. The shell is served from the cache first, so an
 *   expired session cannot replace the app (and the monitor's queued reports) with the login
 *   page.
 * - Static files: cache first.
 * - The base layer's tiles (/tiles/): from the tablet's offline copy first (basemap-cache.js).
 * - /api/: network first; only the geography layers and /api/me/ are ever kept (a copy served
 *   from the cache says so in an `X-Tablet-Cache: hit` header, which the app reads as
 *   "offline"). Reports, attachments and everything else pass straight to the network and are
 *   never stored here: the reports waiting to be sent live in IndexedDB (db.js).
 */
/* global self, caches, fetch, Response, URL */
"use strict";

var CONFIG = self.TABLET_SW_CONFIG;
var SHELL_CACHE = "tablet-shell-" + CONFIG.version;
var DATA_CACHE = "tablet-data";
var NETWORK_TIMEOUT_MS = 8000;

function isCachedApi(url) {
  return CONFIG.cachedApi.indexOf(url.pathname) !== -1;
}

// A redirected or failed answer (the login page after a session expired) is never stored.
function storable(response) {
  return response && response.ok && response.status === 200 && !response.redirected &&
    response.type === "basic";
}

async function precache() {
  var cache = await caches.open(SHELL_CACHE);
  await Promise.all(CONFIG.precache.map(async function (url) {
    var response = await fetch(new Request(url, { credentials: "same-origin", cache: "reload" }));
    if (!storable(response)) {
      throw new Error("Cannot store " + url + " for offline use: " + response.status);
    }
    await cache.put(url, response);
  }));
  // The map layers too, when the session allows; the app fetches them again otherwise.
  var data = await caches.open(DATA_CACHE);
  await Promise.all(CONFIG.cachedApi.map(async function (url) {
    try {
      var response = await fetch(new Request(url, { credentials: "same-origin", cache: "no-store" }));
      if (storable(response)) await data.put(url, response);
    } catch (error) { /* offline during install: the app retries */ }
  }));
}

self.addEventListener("install", function (event) {
  event.waitUntil(precache().then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil((async function () {
    var names = await caches.keys();
    await Promise.all(names.filter(function (name) {
      return name.indexOf("tablet-shell-") === 0 && name !== SHELL_CACHE;
    }).map(function (name) { return caches.delete(name); }));
    await self.clients.claim();
  })());
});

function withTimeout(promise, ms) {
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error("timeout")); }, ms);
    promise.then(function (value) { clearTimeout(timer); resolve(value); },
                 function (error) { clearTimeout(timer); reject(error); });
  });
}

async function fromCacheMarked(cache, request) {
  var cached = await cache.match(request.url, { ignoreVary: true });
  if (!cached) return null;
  var headers = new Headers(cached.headers);
  headers.set("X-Tablet-Cache", "hit");
  var body = await cached.blob();
  return new Response(body, { status: cached.status, statusText: cached.statusText, headers: headers });
}

async function networkFirstApi(request) {
  var cache = await caches.open(DATA_CACHE);
  try {
    var response = await withTimeout(fetch(request), NETWORK_TIMEOUT_MS);
    // Stored under the bare URL, matched ignoring Vary (Accept, Cookie): whatever headers a
    // later request carries, the offline copy is found.
    if (storable(response)) await cache.put(request.url, response.clone());
    // 401/403 goes back as it is: the app must learn that the session expired.
    return response;
  } catch (error) {
    var cached = await fromCacheMarked(cache, request);
    if (cached) return cached;
    throw error;
  }
}

async function shellFirst(request) {
  var cache = await caches.open(SHELL_CACHE);
  var cached = await cache.match(CONFIG.shell, { ignoreVary: true });
  if (cached) return cached;
  return fetch(request);
}

async function staticCacheFirst(request) {
  var cache = await caches.open(SHELL_CACHE);
  var cached = await cache.match(request.url, { ignoreVary: true, ignoreSearch: false });
  if (cached) return cached;
  var response = await fetch(request);
  // Files Leaflet pulls in on its own (its images) are kept too: static files hold no data.
  if (storable(response)) await cache.put(request.url, response.clone());
  return response;
}

// The base layer's tiles: from the copy basemap-cache.js stored ("tablet-basemap-<version>";
// a tile's URL carries the version), else the network, not stored here.
async function tileCacheFirst(request) {
  var names = (await caches.keys()).filter(function (name) { return name.indexOf("tablet-basemap-") === 0; });
  for (var i = 0; i < names.length; i++) {
    var cached = await (await caches.open(names[i])).match(request.url, { ignoreVary: true });
    if (cached) return cached;
  }
  return fetch(request);
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === CONFIG.shell) {
    event.respondWith(shellFirst(request));
  } else if (url.pathname.indexOf(CONFIG.staticPrefix) === 0 ||
             CONFIG.precache.indexOf(url.pathname) !== -1) {
    event.respondWith(staticCacheFirst(request));
  } else if (isCachedApi(url) && !url.search) {
    event.respondWith(networkFirstApi(request));
  } else if (CONFIG.tilePrefix && url.pathname.indexOf(CONFIG.tilePrefix) === 0) {
    event.respondWith(tileCacheFirst(request));
  }
  // Anything else (reports, attachments, other API answers) is not touched.
});

// Logging out from the app: everything this worker stored goes.
self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "clear") {
    event.waitUntil(caches.keys().then(function (names) {
      return Promise.all(names.map(function (name) { return caches.delete(name); }));
    }).then(function () {
      if (event.source) event.source.postMessage({ type: "cleared" });
    }));
  }
});
