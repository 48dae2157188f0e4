/*
 * A patrol plan on the map (plan page, coordinator's review): the route, its numbered
 * waypoints and every finding's geometry highlighted under the route, over the mission's
 * layers (static/core/mission-layers.js). The data comes from a json_script element named
 * by the map container's data-plan-data attribute:
 *   {route: GeoJSON LineString | null, waypoints: [{position, name, lat, lon}],
 *    findings: [{code, severity, message, geometry}]}
 * The container tells tests what was drawn: data-plan-findings="2" data-plan-route="1".
 *
 * Waypoint names and findings are text the team leader typed: they reach the map as text
 * nodes (static/core/dom.js), never as HTML.
 */
(function () {
  "use strict";

  var STYLE = {
    halo: "#ffffff",
    route: "#0b4f9c",
    warning: "#e8590c",
    override: "#e8590c",
    blocking: "#d00000"
  };

  function findingLayer(finding) {
    var colour = STYLE[finding.severity] || STYLE.warning;
    return L.geoJSON(finding.geometry, {
      style: function () {
        return {
          color: colour, weight: 14, opacity: 0.55, lineCap: "round", lineJoin: "round",
          fillColor: colour, fillOpacity: 0.35,
          className: "plan-finding plan-finding--" + finding.severity
        };
      },
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, {
          radius: 10, color: colour, weight: 3, fillColor: colour, fillOpacity: 0.4,
          className: "plan-finding plan-finding--" + finding.severity
        });
      }
    }).bindTooltip(MissionDom.text(finding.message), { sticky: true, className: "plan-finding-tooltip" });
  }

  function waypointIcon(position) {
    return L.divIcon({
      className: "plan-waypoint-icon",
      html: MissionDom.el("span", { text: position }),
      iconSize: [22, 22],
      iconAnchor: [11, 11]
    });
  }

  // A short route alone on the map says nothing of where it is: show at least this much
  // country around it (data-min-span-km), enough for the nearest villages or the border.
  function minSpanKm(container) {
    return parseFloat(container.getAttribute("data-min-span-km")) || 25;
  }

  function atLeast(bounds, km) {
    var centre = bounds.getCenter();
    var halfLat = km / 111.2 / 2;
    var halfLon = halfLat / Math.cos(centre.lat * Math.PI / 180);
    return bounds.extend([
      [centre.lat - halfLat, centre.lng - halfLon],
      [centre.lat + halfLat, centre.lng + halfLon]
    ]);
  }

  window.addEventListener("map:init", function (event) {
    var map = event.detail.map;
    var container = map.getContainer();
    var source = container.getAttribute("data-plan-data");
    var element = source && document.getElementById(source);
    if (!element) return;
    var data = JSON.parse(element.textContent);
    var bounds = L.latLngBounds([]);

    (data.findings || []).forEach(function (finding) {
      var layer = findingLayer(finding).addTo(map);
      var where = layer.getBounds();
      bounds.extend(where);
      // A few hundred metres of route are a dot at this scale: ring them so they are seen.
      L.circleMarker(where.getCenter(), {
        radius: 18, color: STYLE[finding.severity] || STYLE.warning, weight: 3, fill: false,
        dashArray: "5 4", className: "plan-finding-ring"
      }).bindTooltip(MissionDom.text(finding.message), { sticky: true }).addTo(map);
    });
    if (data.route) {
      L.geoJSON(data.route, {
        interactive: false,
        style: { color: STYLE.halo, weight: 8, opacity: 0.9, lineCap: "round", lineJoin: "round" }
      }).addTo(map);
      var route = L.geoJSON(data.route, {
        style: {
          color: STYLE.route, weight: 4, opacity: 1, lineCap: "round", lineJoin: "round",
          className: "plan-route"
        }
      }).bindTooltip(MissionDom.text("Route"), { sticky: true }).addTo(map);
      bounds.extend(route.getBounds());
    }
    (data.waypoints || []).forEach(function (w) {
      var marker = L.marker([w.lat, w.lon], {
        icon: waypointIcon(w.position),
        title: w.position + ". " + w.name,
        alt: "Waypoint " + w.position + ": " + w.name
      }).bindTooltip(MissionDom.text(w.position + ". " + w.name), { direction: "right", offset: [10, 0] });
      marker.addTo(map);
      bounds.extend(marker.getLatLng());
    });

    container.setAttribute("data-plan-findings", String((data.findings || []).length));
    container.setAttribute("data-plan-route", data.route ? "1" : "0");
    if (bounds.isValid()) {
      map.options.zoomSnap = 0.25;
      map.fitBounds(atLeast(bounds, minSpanKm(container)), { padding: [30, 30], animate: false });
    }
  });
})();
