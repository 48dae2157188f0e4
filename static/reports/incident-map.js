/*
 * The duty officers' incident map. The server clusters (GET /api/reports/map/ with the
 * page's filters, the bbox in view and the zoom): this file only draws what it is given,
 * so the map stays fast however many incidents there are.
 *
 * The container says how loading went, for people and tests:
 *   data-incidents-state="loading" | "loaded" | "failed", data-incidents-total,
 *   data-incidents-features, data-refreshed-at, and the status line above the map.
 *
 * It refreshes itself every data-refresh-seconds (30) while the page is visible, so a new
 * incident appears without a reload. Incidents are drawn in a pane under the forward bases
 * (static/core/mission-layers.js), and names are above every pane, so a group never hides a
 * base or a name.
 */
(function () {
  "use strict";

  var SEVERITY_COLOURS = { 1: "#4d7c0f", 2: "#a16207", 3: "#c2410c", 4: "#b91c1c", 5: "#7f1d1d" };
  var DEBOUNCE_MS = 200;
  // Above the settlements' dots (280: their names are in Leaflet's tooltip pane, above
  // everything), under the forward bases (290): a group never hides a base or a name.
  var INCIDENT_PANE_Z = 285;

  // Report fields are text typed in the field: built into nodes (static/core/dom.js).
  var el = window.MissionDom.el;

  function formatTime(iso, timeZone) {
    try {
      return new Intl.DateTimeFormat("en-GB", {
        timeZone: timeZone, day: "numeric", month: "short", year: "numeric",
        hour: "2-digit", minute: "2-digit"
      }).format(new Date(iso));
    } catch (e) {
      return iso;
    }
  }

  function formatClock(date, timeZone) {
    try {
      return new Intl.DateTimeFormat("en-GB", { timeZone: timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(date);
    } catch (e) {
      return date.toISOString();
    }
  }

  function bboxParam(bounds) {
    var r = function (v) { return Math.round(v * 10000) / 10000; };
    var west = Math.max(-180, bounds.getWest()), east = Math.min(180, bounds.getEast());
    var south = Math.max(-90, bounds.getSouth()), north = Math.min(90, bounds.getNorth());
    return [r(west), r(south), r(east), r(north)].join(",");
  }

  function clusterIcon(props) {
    var size = Math.round(30 + Math.min(26, Math.log(props.count) * 5));
    return L.divIcon({
      className: "incident-cluster",
      iconSize: [size, size],
      html: el("span", {
        text: props.count.toLocaleString("en"),
        style: {
          background: SEVERITY_COLOURS[props.max_severity], width: size + "px", height: size + "px",
          "line-height": size + "px"
        }
      })
    });
  }

  function incidentPopup(props, timeZone) {
    return function () {
      return el("div", { className: "mission-popup" }, [
        el("strong", { text: props.reference + " · " + props.category }), el("br"),
        props.across_line ? el("span", { className: "incident-across", text: "Across the line" }) : null,
        props.across_line ? el("br") : null,
        props.location_phrase, el("br"),
        formatTime(props.observed_at, timeZone) + " (" + timeZone + ")", el("br"),
        "Severity " + props.severity_label + (props.casualties ? " · " + props.casualties + " casualties" : ""), el("br"),
        props.status + " · " + props.verification, el("br"),
        el("a", { href: props.url, text: "Open the report" })
      ]);
    };
  }

  function setUp(map) {
    var container = map.getContainer();
    var timeZone = container.getAttribute("data-time-zone") || "Asia/Yerevan";
    var api = container.getAttribute("data-api");
    var query = container.getAttribute("data-query") || "";
    var status = document.getElementById("incident-map-status");
    var listLink = document.getElementById("incident-map-list");
    map.createPane("incidents").style.zIndex = String(INCIDENT_PANE_Z);
    var layer = L.layerGroup().addTo(map);
    var controller = null;
    var timer = null;
    var refreshSeconds = Number(container.getAttribute("data-refresh-seconds") || 30);
    var refreshed = null;

    function say(text, state) {
      status.textContent = text;
      container.setAttribute("data-incidents-state", state);
    }

    function listUrl(bbox) {
      return listLink.getAttribute("data-base") + "?" + (query ? query + "&" : "") + "bbox=" + bbox;
    }

    function draw(data) {
      layer.clearLayers();
      (data.features || []).forEach(function (feature) {
        var p = feature.properties;
        var latlng = L.latLng(feature.geometry.coordinates[1], feature.geometry.coordinates[0]);
        if (p.cluster) {
          var marker = L.marker(latlng, {
            icon: clusterIcon(p), keyboard: true, pane: "incidents",
            title: p.count + " incidents, most severe " + p.max_severity
          });
          marker.on("click", function () {
            var b = p.bbox;
            if (b[0] === b[2] && b[1] === b[3] || map.getZoom() >= map.getMaxZoom()) {
              var pad = 0.0005;
              var here = [b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad].join(",");
              marker.bindPopup(el("div", { className: "mission-popup" }, [
                el("strong", { text: p.count + " incidents at this place" }), el("br"),
                el("a", { href: listUrl(here), text: "List them" })
              ])).openPopup();
              return;
            }
            map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [40, 40], maxZoom: map.getMaxZoom() });
          });
          marker.addTo(layer);
        } else {
          // Across the line: a dark ring, so it reads as "beyond the border" at a glance.
          L.circleMarker(latlng, {
            radius: p.across_line ? 8 : 7, weight: p.across_line ? 3 : 2,
            color: p.across_line ? "#111827" : "#fff", dashArray: p.across_line ? "3 2" : null,
            fillOpacity: 0.95, pane: "incidents",
            className: "incident-dot" + (p.across_line ? " incident-dot--across" : ""),
            fillColor: SEVERITY_COLOURS[p.severity]
          }).bindPopup(incidentPopup(p, timeZone)).addTo(layer);
        }
      });
      container.setAttribute("data-incidents-total", String(data.total));
      container.setAttribute("data-incidents-features", String((data.features || []).length));
      refreshed = new Date();
      container.setAttribute("data-refreshed-at", refreshed.toISOString());
      say(data.total.toLocaleString("en") + " incident" + (data.total === 1 ? "" : "s") + " in view" +
        (data.total ? " (" + data.features.length + " on the map)" : "") +
        " · updated " + formatClock(refreshed, timeZone) + " (" + timeZone + "), every " + refreshSeconds + " s", "loaded");
    }

    function load(quietly) {
      if (controller) controller.abort();
      controller = window.AbortController ? new AbortController() : null;
      var bbox = bboxParam(map.getBounds());
      var url = api + "?" + (query ? query + "&" : "") + "bbox=" + bbox + "&zoom=" + Math.round(map.getZoom());
      listLink.href = listUrl(bbox);
      // A refresh keeps what is on the map (and the line above it) until the answer comes.
      if (!quietly) say("Loading incidents…", "loading");
      fetch(url, {
        credentials: "same-origin", headers: { Accept: "application/json" },
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) {
            var errors = body.errors || {};
            var first = Object.keys(errors)[0];
            throw new Error(first ? first + ": " + errors[first].join(" ") : (body.detail || "HTTP " + response.status));
          }
          return body;
        });
      }).then(draw).catch(function (err) {
        if (err.name === "AbortError") return;
        if (quietly && refreshed) {
          status.textContent = "Could not refresh (" + err.message + "): showing what was there at " + formatClock(refreshed, timeZone) + ".";
          return;
        }
        layer.clearLayers();
        say("Could not load the incidents: " + err.message, "failed");
      });
    }

    // New incidents without a reload: not while a popup is open (it would close under the
    // reader), nor while the page is hidden.
    if (refreshSeconds > 0) {
      setInterval(function () {
        if (document.visibilityState !== "visible" || map._popup && map.hasLayer(map._popup)) return;
        load(true);
      }, refreshSeconds * 1000);
    }

    map.on("moveend", function () {
      clearTimeout(timer);
      timer = setTimeout(load, DEBOUNCE_MS);
    });
    load();
  }

  window.addEventListener("map:init", function (event) {
    var map = event.detail.map;
    if (map.getContainer().id === "incident-map") setUp(map);
  });
})();
