/*
 * An incident report's own map (the incident page): the incident, the observer's position
 * and the line of sight between them, over the mission's layers (static/core/mission-layers.js).
 * The data comes from the json_script element named by data-incident-data:
 *   {incident: [lon, lat], observer: [lon, lat] | null, across_line: bool, label: "KAP-2026-0142 · Shelling"}
 * The label is text a monitor's report leads to: it reaches the map as a text node.
 */
(function () {
  "use strict";

  function draw(map) {
    var container = map.getContainer();
    var source = document.getElementById(container.getAttribute("data-incident-data"));
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var incident = L.latLng(data.incident[1], data.incident[0]);
    var points = [incident];
    if (data.observer) {
      var observer = L.latLng(data.observer[1], data.observer[0]);
      points.push(observer);
      L.polyline([observer, incident], { color: "#12263f", weight: 2, dashArray: "4 6", interactive: false }).addTo(map);
      L.circleMarker(observer, { radius: 8, weight: 3, color: "#fff", fillColor: "#0b5cad", fillOpacity: 1, className: "incident-page-observer" })
        .bindTooltip(MissionDom.text("Observer"), { direction: "left" }).addTo(map);
    }
    L.circleMarker(incident, {
      radius: 10, weight: 3, color: data.across_line ? "#111827" : "#fff", dashArray: data.across_line ? "3 2" : null,
      fillColor: "#c0141b", fillOpacity: 1, className: "incident-page-incident"
    }).bindTooltip(MissionDom.text(data.label + (data.across_line ? " (across the line)" : "")), { permanent: true, direction: "top", offset: [0, -10] })
      .addTo(map);
    map.fitBounds(L.latLngBounds(points).pad(0.6), { maxZoom: 13, animate: false });
    container.setAttribute("data-incident-drawn", "true");
  }

  window.addEventListener("map:init", function (event) {
    var map = event.detail.map;
    if (map.getContainer().id === "incident-report-map") draw(map);
  });
})();
