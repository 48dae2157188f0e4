/*
 * The tablet's offline copy of the base layer, as ODK Collect keeps an offline MBTiles
 * layer: at app start, with a connection, the tiles of the monitor's sector (the forward
 * base's province; every sector for a role without one) are stored in Cache Storage
 * ("tablet-basemap-<version>"), zoom by zoom within the size the server allows
 * (BASEMAP_PRECACHE_MAX_MB: /api/geography/basemap/ `precache`). The service worker (sw.js)
 * answers tile requests from that cache, so the map has its background with no signal.
 *
 * - Progress is shown ("Map for offline use: 340 of 1,200 tiles"), then "Map ready offline"
 *   (#basemap-status: data-state="storing" | "paused" | "ready" | "none", data-ready).
 * - Resumable: tiles already stored are not fetched again; an interrupted copy goes on at
 *   the next start or when the connection comes back.
 * - Done once per layer: a marker in the cache says the copy is complete; a new layer has a
 *   new version, a new cache, and the old one is deleted. Logging out empties every cache
 *   (sw.js), this one included.
 */
(function () {
  "use strict";

  var CACHE_PREFIX = "tablet-basemap-";
  var PARALLEL = 4;
  var RETRY_MS = 30000;
  var status = document.getElementById("basemap-status");
  if (!status || !window.caches || !window.MissionBasemap) return;
  var number = new Intl.NumberFormat("en-GB");
  var running = false;
  var retry = null;

  function show(state, message) {
    status.hidden = false;
    status.setAttribute("data-state", state);
    status.setAttribute("data-ready", state === "ready" ? "true" : "false");
    status.textContent = message;
  }

  function progress(done, total) {
    show("storing", "Map for offline use: " + number.format(done) + " of " + number.format(total) + " tiles");
  }

  function tileUrls(info) {
    var seen = {};
    var urls = [];
    info.precache.ranges.forEach(function (range) {
      for (var x = range.x[0]; x <= range.x[1]; x++) {
        for (var y = range.y[0]; y <= range.y[1]; y++) {
          var url = new URL(info.tile_url.replace("{z}", range.zoom).replace("{x}", x)
            .replace("{y}", y), location.href).href;
          if (!seen[url]) {
            seen[url] = true;
            urls.push(url);
          }
        }
      }
    });
    return urls;
  }

  function markerUrl(info) {
    var plan = info.precache;
    return new URL("/tiles/complete?v=" + info.version + "&sectors=" +
      encodeURIComponent(plan.sectors.join(",")) + "&zooms=" + plan.zooms.join(","), location.href).href;
  }

  async function store(cache, urls, done, total) {
    var next = 0;
    var interrupted = false;
    async function worker() {
      while (!interrupted && next < urls.length) {
        var url = urls[next++];
        try {
          var response = await fetch(url, { credentials: "same-origin" });
          if (response.ok) {
            await cache.put(url, response);
          } else if (response.status !== 404) {
            interrupted = true; // a session that ended, a server in trouble: later
            return;
          }
        } catch (error) {
          interrupted = true; // no connection
          return;
        }
        done += 1;
        progress(done, total);
      }
    }
    var workers = [];
    for (var i = 0; i < PARALLEL; i++) workers.push(worker());
    await Promise.all(workers);
    return { done: done, complete: !interrupted };
  }

  async function run() {
    if (running) return;
    running = true;
    clearTimeout(retry);
    try {
      var info = await window.MissionBasemap.describe();
      if (!info || !info.available || !info.precache || !info.precache.ranges.length) {
        status.hidden = true;
        status.setAttribute("data-state", "none");
        return;
      }
      var name = CACHE_PREFIX + info.version;
      var names = await caches.keys();
      await Promise.all(names.filter(function (other) {
        return other.indexOf(CACHE_PREFIX) === 0 && other !== name;
      }).map(function (other) { return caches.delete(other); }));
      var cache = await caches.open(name);
      var marker = markerUrl(info);
      var urls = tileUrls(info);
      if (!(await cache.match(marker))) {
        var stored = {};
        (await cache.keys()).forEach(function (request) { stored[request.url] = true; });
        var missing = urls.filter(function (url) { return !stored[url]; });
        progress(urls.length - missing.length, urls.length);
        var result = await store(cache, missing, urls.length - missing.length, urls.length);
        if (!result.complete) {
          show("paused", "Map for offline use: " + number.format(result.done) + " of " +
            number.format(urls.length) + " tiles · goes on when there is a connection");
          retry = setTimeout(run, RETRY_MS);
          return;
        }
        await cache.put(marker, new Response("complete", { headers: { "Content-Type": "text/plain" } }));
      }
      show("ready", "Map ready offline · " + info.precache.sectors.join(", ") + " · " +
        number.format(urls.length) + " tiles");
    } catch (error) {
      show("paused", "Map for offline use: paused (" + (error && error.message || "error") + ")");
      retry = setTimeout(run, RETRY_MS);
    } finally {
      running = false;
    }
  }

  window.addEventListener("online", run);
  run();
})();
