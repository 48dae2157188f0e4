/*
 * The mission's own geography, drawn on every django-leaflet map (the home page and the
 * admin's geometry widgets). There is no tile server in the field, so these layers are the
 * map, over the base layer the mission supplies when one is loaded (static/core/basemap.js,
 * loaded before this file where there is one): provinces (sectors highlighted), the border
 * line, settlements, forward bases and the restricted zones in force now.
 *
 * Leaflet is loaded after this file in the admin (ModelAdmin media comes before the
 * widget's), so nothing here touches `L` until django-leaflet fires `map:init`. It needs
 * static/core/dom.js loaded before it: every name reaches the map as text, never as HTML.
 *
 * The map container tells tests and people how loading went:
 *   data-layers-total="5" data-layers-loaded="5" data-layers-failed="0"
 *   data-layers-state="loading" | "loaded" | "failed"
 * and a failed layer shows a visible message on the map.
 *
 * Options, as data attributes on the map container (all optional):
 *   data-layer-<key>="url"        where to fetch a layer (defaults to /api/geography/...)
 *   data-legend-target="id"       draw the legend into that element instead of on the map
 *   data-time-zone="Asia/Yerevan" the zone times are shown in
 */
(function () {
  "use strict";

  var DEFAULT_TIME_ZONE = "Asia/Yerevan";
  // Settlement names from this zoom in: below it, 40 names over the country overlap.
  var SETTLEMENT_NAMES_ZOOM = 8.5;
  var FETCH_TIMEOUT_MS = 20000;
  var POINT_ZOOM = 10;

  var COLOURS = {
    background: "#dbe4ea",
    sectorFill: "#f4d58d",
    sectorLine: "#b7791f",
    provinceFill: "#c8ccd2",
    provinceLine: "#8b929c",
    border: "#c0141b",
    settlement: "#2f3640",
    base: "#123a73",
    zone: "#7b1fa2"
  };

  var REASONS = {
    mines: "Mines or unexploded ordnance",
    military: "Military positions or works",
    host_nation: "Closed by host-nation authorities",
    security: "Security situation",
    other: "Other"
  };

  // Drawn bottom to top. Every pane sits below Leaflet's overlayPane (z-index 400), so
  // whatever an operator draws in a geometry widget stays on top of the reference layers.
  var LAYERS = [
    { key: "provinces", url: "/api/geography/provinces/", name: "Provinces", zIndex: 250 },
    { key: "restricted-zones", url: "/api/geography/restricted-zones/", name: "Restricted zones", zIndex: 260 },
    { key: "border", url: "/api/geography/border/", name: "Border", zIndex: 270 },
    { key: "settlements", url: "/api/geography/settlements/", name: "Settlements", zIndex: 280 },
    { key: "forward-bases", url: "/api/geography/forward-bases/", name: "Forward bases", zIndex: 290 }
  ];

  var LEGEND = [
    { label: "Mission sector (border province)", swatch: "area", fill: COLOURS.sectorFill, line: COLOURS.sectorLine },
    { label: "Other province", swatch: "area", fill: COLOURS.provinceFill, line: COLOURS.provinceLine },
    { label: "Armenia–Azerbaijan border", swatch: "line", line: COLOURS.border, width: 4 },
    { label: "Exclave or enclave edge", swatch: "dashed", line: COLOURS.border, width: 2 },
    { label: "Restricted zone in force", swatch: "zone", fill: COLOURS.zone, line: COLOURS.zone },
    { label: "Settlement", swatch: "dot", fill: COLOURS.settlement },
    { label: "Forward base", swatch: "base", fill: COLOURS.base }
  ];

  var STYLESHEET = [
    ".leaflet-container.mission-layers-map { background: " + COLOURS.background + "; }",
    // The admin's widget is 720px wide, more than a form row has beside the navigation
    // sidebar at 1024px: let it take the row's width instead of overflowing the page.
    "form [id$='-div-map'] { flex: 1 1 0; min-width: 0; max-width: 720px; }",
    "form [id$='-div-map'] .leaflet-container { width: 100%; }",
    ".mission-base-icon { background: none; border: 0; }",
    ".mission-base-icon span { display: block; width: 12px; height: 12px; margin: 3px;",
    "  background: " + COLOURS.base + "; border: 2px solid #fff; transform: rotate(45deg);",
    "  box-shadow: 0 0 0 1px " + COLOURS.base + ", 0 1px 3px rgba(0,0,0,.4); }",
    ".leaflet-tooltip.mission-base-label { font: 600 12px/1.2 system-ui, sans-serif; color: " + COLOURS.base + ";",
    "  background: rgba(255,255,255,.9); border: 1px solid " + COLOURS.base + "; border-radius: 3px;",
    "  padding: 1px 5px; box-shadow: none; }",
    ".leaflet-tooltip.mission-base-label::before { display: none; }",
    ".leaflet-tooltip.mission-settlement-label { font: 600 11px/1.2 system-ui, sans-serif; color: #1f2933;",
    "  background: rgba(255,255,255,.8); border: 0; border-radius: 3px; padding: 0 4px; box-shadow: none; }",
    ".leaflet-tooltip.mission-settlement-label::before { display: none; }",
    ".leaflet-tooltip.mission-settlement-label--across { color: #6b4f2a; font-style: italic; }",
    ".mission-layers-map[data-names='hidden'] .mission-settlement-label { display: none; }",
    ".mission-position-button { min-height: 34px; padding: 0 10px; font: 600 13px system-ui, sans-serif; background: #fff;",
    "  border: 2px solid rgba(0,0,0,.2); border-radius: 4px; cursor: pointer; }",
    ".mission-legend { font: 13px/1.3 system-ui, sans-serif; color: #1f2933; }",
    ".leaflet-control.mission-legend { background: rgba(255,255,255,.95); border-radius: 6px;",
    "  box-shadow: 0 1px 4px rgba(0,0,0,.3); padding: 0 10px; max-width: 260px; }",
    ".mission-legend summary { cursor: pointer; font-weight: 600; min-height: 44px; line-height: 44px; }",
    ".mission-legend ul { list-style: none; margin: 0; padding: 0 0 8px; }",
    ".mission-legend li { display: flex; align-items: center; gap: 8px; margin: 4px 0; padding: 0; list-style: none; }",
    ".mission-legend__swatch { flex: none; width: 26px; height: 16px; box-sizing: border-box; }",
    ".mission-legend__swatch--line, .mission-legend__swatch--dashed { height: 0; border-top-style: solid; }",
    ".mission-legend__swatch--dashed { border-top-style: dashed; }",
    ".mission-legend__swatch--dot { width: 10px; height: 10px; margin: 0 8px; border-radius: 50%; border: 1px solid #fff; box-shadow: 0 0 0 1px #2f3640; }",
    ".mission-legend__swatch--base { width: 12px; height: 12px; margin: 0 7px; transform: rotate(45deg); border: 2px solid #fff; box-shadow: 0 0 0 1px " + COLOURS.base + "; }",
    ".mission-layers-error { background: #fff1f0; color: #8a1c14; border: 1px solid #d64541;",
    "  border-radius: 6px; padding: 6px 10px; font: 13px/1.35 system-ui, sans-serif; max-width: 320px; }",
    ".mission-layers-error p { margin: 0; }",
    ".mission-layers-popup dl { margin: 4px 0 0; }",
    ".mission-layers-popup dt { font-weight: 600; margin-top: 4px; }",
    ".mission-layers-popup dd { margin: 0; }"
  ].join("\n");

  // A constructed stylesheet, not a <style> element: the Content-Security-Policy refuses
  // inline <style> (style-src has no 'unsafe-inline'), while rules added through the CSSOM
  // are the page's own script at work. The colours stay in one place, shared with the layers.
  function injectStylesheet() {
    if (document.documentElement.hasAttribute("data-mission-layers-style")) return;
    document.documentElement.setAttribute("data-mission-layers-style", "");
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLESHEET);
    document.adoptedStyleSheets = document.adoptedStyleSheets.concat([sheet]);
  }

  var el = window.MissionDom.el;
  var text = window.MissionDom.text;

  function formatTime(iso, timeZone) {
    if (!iso) return "no end date";
    var date = new Date(iso);
    if (isNaN(date.getTime())) return iso;
    try {
      return new Intl.DateTimeFormat("en-GB", {
        timeZone: timeZone, day: "numeric", month: "short", year: "numeric",
        hour: "2-digit", minute: "2-digit"
      }).format(date) + " (" + timeZone + ")";
    } catch (err) {
      return iso;
    }
  }

  // Names and facts come from the geography API (edited in the admin): text nodes only.
  // A function, so that each opening builds its own nodes.
  function popup(title, facts) {
    return function () {
      var list = el("dl");
      facts.forEach(function (fact) {
        if (fact[1] === null || fact[1] === undefined || fact[1] === "") return;
        list.appendChild(el("dt", { text: fact[0] }));
        list.appendChild(el("dd", { text: fact[1] }));
      });
      return el("div", { className: "mission-layers-popup" }, [el("strong", { text: title }), list]);
    };
  }

  // How each layer looks and what it says when touched.
  function layerOptions(key, ctx) {
    var pane = ctx.panes[key];
    var interactive = ctx.interactive;
    switch (key) {
      case "provinces":
        return {
          pane: pane,
          interactive: interactive,
          style: function (feature) {
            var sector = feature.properties.is_sector;
            return {
              color: sector ? COLOURS.sectorLine : COLOURS.provinceLine,
              weight: sector ? 1.5 : 1,
              fillColor: sector ? COLOURS.sectorFill : COLOURS.provinceFill,
              fillOpacity: sector ? 0.75 : 0.6,
              className: sector ? "mission-province mission-province--sector" : "mission-province"
            };
          },
          onEachFeature: function (feature, layer) {
            if (!interactive) return;
            var p = feature.properties;
            layer.bindTooltip(text(p.name + (p.is_sector ? " (sector)" : "")), { sticky: true });
            layer.bindPopup(popup(p.name, [
              ["Armenian name", p.name_hy],
              ["ISO 3166-2", p.iso_code],
              ["Mission sector", p.is_sector ? "Yes: a border province the mission patrols" : "No"]
            ]));
          }
        };
      case "border":
        return {
          pane: pane,
          interactive: interactive,
          style: function (feature) {
            var international = feature.properties.is_international;
            return {
              color: COLOURS.border,
              weight: international ? 4 : 2,
              opacity: 0.95,
              dashArray: international ? null : "6 5",
              lineCap: international ? "round" : "butt",
              className: international ? "mission-border mission-border--international" : "mission-border mission-border--edge"
            };
          },
          onEachFeature: function (feature, layer) {
            if (!interactive) return;
            var p = feature.properties;
            layer.bindPopup(popup(p.segment, [
              ["Province", p.province],
              ["Length", p.length_km === null ? null : Math.round(p.length_km) + " km"],
              ["Kind", p.is_international ? "International line" : "Exclave or enclave edge"]
            ]));
          }
        };
      case "settlements":
        return {
          pane: pane,
          interactive: interactive,
          pointToLayer: function (feature, latlng) {
            return L.circleMarker(latlng, {
              pane: pane, interactive: interactive, radius: 3.5, weight: 1, color: "#fff",
              fillColor: COLOURS.settlement, fillOpacity: 1, className: "mission-settlement"
            });
          },
          onEachFeature: function (feature, layer) {
            var p = feature.properties;
            var across = p.country && p.country !== "Armenia";
            // Names to navigate by, always shown (hidden when zoomed out: SETTLEMENT_NAMES_ZOOM).
            layer.bindTooltip(text(p.name + (across ? " (" + p.country + ")" : "")), {
              permanent: true, direction: "right", offset: [4, 0],
              className: "mission-settlement-label" + (across ? " mission-settlement-label--across" : "")
            });
            if (!interactive) return;
            layer.bindPopup(popup(p.name, [
              ["Province", p.province || p.country],
              ["Population", p.population === null || p.population === undefined ? null : Number(p.population).toLocaleString("en-GB")]
            ]));
          }
        };
      case "forward-bases":
        return {
          pane: pane,
          interactive: interactive,
          pointToLayer: function (feature, latlng) {
            return L.marker(latlng, {
              pane: pane,
              interactive: interactive,
              keyboard: interactive,
              title: interactive ? "Forward base " + feature.properties.name : "",
              alt: "Forward base " + feature.properties.name,
              icon: L.divIcon({ className: "mission-base-icon", html: el("span"), iconSize: [18, 18], iconAnchor: [9, 9] })
            });
          },
          onEachFeature: function (feature, layer) {
            var p = feature.properties;
            layer.bindTooltip(text(p.name), {
              permanent: true, direction: "right", offset: [9, 0], className: "mission-base-label"
            });
            if (interactive) layer.bindPopup(popup("Forward base " + p.name, [["Province", p.province]]));
          }
        };
      case "restricted-zones":
        return {
          pane: pane,
          interactive: interactive,
          style: function () {
            return {
              color: COLOURS.zone, weight: 2, dashArray: "4 3", fillColor: COLOURS.zone,
              fillOpacity: 0.3, className: "mission-restricted-zone"
            };
          },
          onEachFeature: function (feature, layer) {
            if (!interactive) return;
            var p = feature.properties;
            layer.bindTooltip(text("Restricted: " + p.name), { sticky: true });
            layer.bindPopup(popup("Restricted zone: " + p.name, [
              ["Reason", REASONS[p.reason] || p.reason],
              ["In force from", formatTime(p.valid_from, ctx.timeZone)],
              ["Until", formatTime(p.valid_until, ctx.timeZone)]
            ]));
          }
        };
    }
    return {};
  }

  function legendList() {
    return el("ul", {}, LEGEND.map(function (item) {
      var style;
      if (item.swatch === "area") {
        style = { background: item.fill, border: "1.5px solid " + item.line };
      } else if (item.swatch === "zone") {
        style = { background: item.fill + "4d", border: "2px dashed " + item.line };
      } else if (item.swatch === "line" || item.swatch === "dashed") {
        style = { "border-top-width": item.width + "px", "border-top-color": item.line };
      } else {
        style = { background: item.fill };
      }
      return el("li", {}, [
        el("span", {
          className: "mission-legend__swatch mission-legend__swatch--" + item.swatch,
          style: style,
          "aria-hidden": "true"
        }),
        el("span", { text: item.label })
      ]);
    }));
  }

  function addLegend(map, container) {
    var targetId = container.getAttribute("data-legend-target");
    var target = targetId && document.getElementById(targetId);
    if (target) {
      target.classList.add("mission-legend");
      target.replaceChildren(el("h3", { className: "mission-legend__title", text: "Legend" }), legendList());
      return;
    }
    // On a small admin widget the legend starts folded, to leave the map to the drawing.
    var control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      var div = L.DomUtil.create("details", "leaflet-control mission-legend");
      div.appendChild(el("summary", { text: "Legend" }));
      div.appendChild(legendList());
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    control.addTo(map);
  }

  function showError(ctx, message) {
    if (!ctx.errorControl) {
      ctx.errorControl = L.control({ position: "bottomleft" });
      ctx.errorControl.onAdd = function () {
        var div = L.DomUtil.create("div", "leaflet-control mission-layers-error");
        div.setAttribute("role", "alert");
        L.DomEvent.disableClickPropagation(div);
        return div;
      };
      ctx.errorControl.addTo(ctx.map);
    }
    var line = document.createElement("p");
    line.textContent = message;
    ctx.errorControl.getContainer().appendChild(line);
  }

  function hasDrawnGeometry(container) {
    // A geometry widget's map is "<field id>-map"; its value lives in the field.
    var field = container.id && document.getElementById(container.id.replace(/-map$/, ""));
    return !!(field && field !== container && field.value && field.value.trim());
  }

  function fetchLayer(url) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, FETCH_TIMEOUT_MS) : null;
    return fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (timer) clearTimeout(timer);
      if (!response.ok) {
        var reason = response.status === 401 || response.status === 403
          ? "you are not logged in (HTTP " + response.status + ")"
          : "HTTP " + response.status;
        throw new Error(reason);
      }
      return response.json();
    }, function (err) {
      if (timer) clearTimeout(timer);
      throw new Error(err && err.name === "AbortError" ? "timed out" : "network error");
    });
  }

  function updateStatus(ctx) {
    var c = ctx.container;
    c.setAttribute("data-layers-loaded", String(ctx.loaded));
    c.setAttribute("data-layers-failed", String(ctx.failed));
    if (ctx.loaded + ctx.failed === LAYERS.length) {
      c.setAttribute("data-layers-state", ctx.failed ? "failed" : "loaded");
    }
  }

  // "Where am I?": the device's own position, when it gives one (asked only on a click).
  function addPositionControl(map) {
    if (!navigator.geolocation) return;
    var here = null;
    var control = L.control({ position: "topleft" });
    control.onAdd = function () {
      var button = el("button", { type: "button", className: "leaflet-control mission-position-button", text: "◎ My position" });
      button.setAttribute("aria-label", "Show my position on the map");
      L.DomEvent.disableClickPropagation(button);
      button.addEventListener("click", function () {
        button.textContent = "◎ Locating…";
        navigator.geolocation.getCurrentPosition(function (position) {
          var latlng = L.latLng(position.coords.latitude, position.coords.longitude);
          if (here) map.removeLayer(here);
          here = L.layerGroup([
            L.circle(latlng, { radius: position.coords.accuracy, color: "#0b5cad", weight: 1, fillOpacity: 0.12, interactive: false }),
            L.circleMarker(latlng, { radius: 7, color: "#fff", weight: 2, fillColor: "#0b5cad", fillOpacity: 1, interactive: false })
          ]).addTo(map);
          map.getContainer().setAttribute("data-my-position", latlng.lat.toFixed(5) + "," + latlng.lng.toFixed(5));
          map.setView(latlng, Math.max(map.getZoom(), 12), { animate: false });
          button.textContent = "◎ My position";
        }, function () {
          button.textContent = "◎ No position from this device";
        }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
      });
      return button;
    };
    control.addTo(map);
  }

  // Over a base layer (static/core/basemap.js) the provinces' fills would hide it: only
  // their outlines and a tint stay.
  function lightenUnderBasemap(ctx) {
    if (ctx.basemap && ctx.provincesLayer) ctx.provincesLayer.setStyle({ fillOpacity: 0.15 });
  }

  // A forward base is named by its own label: its settlement's name is not written again.
  function oneNamePerPlace(ctx) {
    if (!ctx.settlementsLayer || !ctx.basesLayer) return;
    var bases = {};
    ctx.basesLayer.eachLayer(function (layer) { bases[layer.feature.properties.name] = true; });
    ctx.settlementsLayer.eachLayer(function (layer) {
      if (bases[layer.feature.properties.name]) layer.unbindTooltip();
    });
  }

  function drawMissionLayers(map) {
    if (map._missionLayers) return;
    var container = map.getContainer();
    var ctx = {
      map: map,
      container: container,
      // Inside a form the map is a geometry widget: the reference layers must not catch
      // clicks meant for drawing.
      interactive: !container.closest("form"),
      timeZone: container.getAttribute("data-time-zone") || DEFAULT_TIME_ZONE,
      panes: {},
      loaded: 0,
      failed: 0,
      errorControl: null
    };
    map._missionLayers = ctx;
    map.on("basemap:added", function () {
      ctx.basemap = true;
      lightenUnderBasemap(ctx);
    });
    container.classList.add("mission-layers-map");
    container.setAttribute("data-layers-total", String(LAYERS.length));
    container.setAttribute("data-layers-state", "loading");
    updateStatus(ctx);

    LAYERS.forEach(function (spec) {
      var paneName = "mission-" + spec.key;
      map.createPane(paneName).style.zIndex = String(spec.zIndex);
      ctx.panes[spec.key] = paneName;
    });

    var showNames = function () {
      container.setAttribute("data-names", map.getZoom() >= SETTLEMENT_NAMES_ZOOM ? "shown" : "hidden");
    };
    map.on("zoomend", showNames);
    showNames();
    addPositionControl(map);

    var order = LAYERS.map(function (spec) { return spec.name; });
    var layersControl = L.control.layers(null, null, {
      collapsed: true,
      sortLayers: true,
      sortFunction: function (a, b, nameA, nameB) { return order.indexOf(nameA) - order.indexOf(nameB); }
    }).addTo(map);
    addLegend(map, container);

    LAYERS.forEach(function (spec) {
      var url = container.getAttribute("data-layer-" + spec.key) || spec.url;
      fetchLayer(url).then(function (data) {
        var layer = L.geoJSON(data, layerOptions(spec.key, ctx)).addTo(map);
        layersControl.addOverlay(layer, spec.name);
        if (spec.key === "provinces") {
          ctx.provincesLayer = layer;
          lightenUnderBasemap(ctx);
        }
        if (spec.key === "settlements") ctx.settlementsLayer = layer;
        if (spec.key === "forward-bases") ctx.basesLayer = layer;
        oneNamePerPlace(ctx);
        if (spec.key === "provinces" && !hasDrawnGeometry(container) && layer.getLayers().length) {
          // Quarter zoom steps let Armenia fill the map; room on the right for base labels.
          map.options.zoomSnap = 0.25;
          map.fitBounds(layer.getBounds(), {
            paddingTopLeft: [10, 10], paddingBottomRight: [70, 10], animate: false
          });
        }
        ctx.loaded += 1;
        updateStatus(ctx);
      }).catch(function (err) {
        ctx.failed += 1;
        updateStatus(ctx);
        showError(ctx, "Could not load the " + spec.name.toLowerCase() + " layer: " + err.message + ". Reload the page to try again.");
      });
    });
  }

  // django-leaflet's geometry widget zooms a single point to street level, where the
  // reference layers show nothing but one province's fill: step back to see the villages.
  function keepPointsInContext(map) {
    map.on("map:loadfield", function (event) {
      var drawn = event.field && event.field.drawnItems ? event.field.drawnItems.getLayers() : [];
      if (drawn.length === 1 && drawn[0].getLatLng && map.getZoom() > POINT_ZOOM) {
        map.setView(drawn[0].getLatLng(), POINT_ZOOM, { animate: false });
      }
    });
  }

  // Now, not at map:init: the sizes above must hold before Leaflet measures its container.
  injectStylesheet();

  window.addEventListener("map:init", function (event) {
    keepPointsInContext(event.detail.map);
    drawMissionLayers(event.detail.map);
    // The mission's base layer under them, when one is loaded (static/core/basemap.js).
    if (window.MissionBasemap) window.MissionBasemap.addTo(event.detail.map);
  });
})();
