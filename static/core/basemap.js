/*
 * The base layer the mission supplies (an MBTiles file the app serves itself at /tiles/,
 * core/basemap/), drawn under the mission's own layers when one is loaded. Without one the
 * maps are what they were: the mission's layers on a plain background.
 *
 *   window.MissionBasemap.addTo(map)  → a Promise of the tile layer, or of null without one
 *   window.MissionBasemap.describe()  → a Promise of /api/geography/basemap/ (asked once a page)
 *
 * Used by static/core/mission-layers.js (every django-leaflet map) and by the tablet app
 * (static/tablet/app.js, and basemap-cache.js for its offline copy). The map container says
 * how it went: data-basemap="loading" | "loaded" | "none", and data-basemap-version.
 * Leaflet fires "basemap:added" on the map when the layer is on it.
 */
(function () {
  "use strict";

  var DESCRIPTION_URL = "/api/geography/basemap/";
  var described = null;

  function describe() {
    if (!described) {
      described = fetch(DESCRIPTION_URL, {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      }).then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      }).catch(function () {
        described = null; // asked again by the next map: the connection may be back
        return { available: false };
      });
    }
    return described;
  }

  // Leaflet's attribution control writes its text as HTML, and the attribution comes from
  // the MBTiles file: escaped, so that it can only ever be text.
  function asText(value) {
    return String(value || "").replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // The layer's attribution, unless the map credits the same sources already (the demo's
  // layer is drawn from the very data the mission's layers come from).
  function attributionFor(map, text) {
    var control = map.attributionControl;
    if (!text || !control) return text;
    var already = [String(control.options.prefix || "")].concat(Object.keys(control._attributions || {}));
    var said = already.some(function (other) {
      return other && (other.indexOf(text) !== -1 || text.indexOf(other) !== -1);
    });
    return said ? "" : text;
  }

  function addTo(map) {
    if (map._missionBasemap) return map._missionBasemap;
    var container = map.getContainer();
    container.setAttribute("data-basemap", "loading");
    map._missionBasemap = describe().then(function (info) {
      if (!info || !info.available || !window.L) {
        container.setAttribute("data-basemap", "none");
        return null;
      }
      var b = info.bounds;
      var layer = L.tileLayer(info.tile_url, {
        minNativeZoom: info.minzoom,
        maxNativeZoom: info.maxzoom,
        bounds: L.latLngBounds([b[1], b[0]], [b[3], b[2]]),
        attribution: attributionFor(map, asText(info.attribution)),
        className: "mission-basemap",
        keepBuffer: 2
      });
      // The tile pane (z-index 200) lies under every pane of the mission's own layers.
      layer.addTo(map);
      container.setAttribute("data-basemap", "loaded");
      container.setAttribute("data-basemap-version", info.version);
      map.fire("basemap:added", { layer: layer, info: info });
      return layer;
    });
    return map._missionBasemap;
  }

  window.MissionBasemap = { addTo: addTo, describe: describe };
})();
