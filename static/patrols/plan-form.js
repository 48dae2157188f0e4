/*
 * The patrol plan form: rows added to the waypoint and vehicle formsets, and the typed
 * waypoints shown on the route map (numbered dots), so the line can be drawn through them.
 * Without JavaScript the form still works: the formsets come with blank rows to fill.
 */
(function () {
  "use strict";

  // The blank row is cloned from the <template> as nodes and renumbered attribute by
  // attribute: nothing is parsed as HTML, so nothing typed into the page can become markup.
  function renumber(node, index) {
    if (node.nodeType === Node.TEXT_NODE) {
      node.nodeValue = node.nodeValue.replace(/__number__/g, String(index + 1));
      return;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    Array.prototype.forEach.call(node.attributes, function (attribute) {
      var value = attribute.value.replace(/__prefix__/g, String(index)).replace(/__number__/g, String(index + 1));
      if (value !== attribute.value) node.setAttribute(attribute.name, value);
    });
    Array.prototype.forEach.call(node.childNodes, function (child) { renumber(child, index); });
  }

  function addRow(section) {
    var prefix = section.getAttribute("data-formset");
    var total = section.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
    var template = section.querySelector("template[data-formset-template]");
    var body = section.querySelector("[data-formset-body]");
    var index = parseInt(total.value, 10);
    var rows = template.content.cloneNode(true);
    Array.prototype.forEach.call(rows.childNodes, function (child) { renumber(child, index); });
    body.appendChild(rows);
    total.value = String(index + 1);
    var first = body.lastElementChild && body.lastElementChild.querySelector("input:not([type=checkbox])");
    if (first) first.focus();
  }

  document.querySelectorAll("[data-formset]").forEach(function (section) {
    var button = section.querySelector("[data-formset-add]");
    if (button) button.addEventListener("click", function () { addRow(section); });
  });

  function typedWaypoints() {
    var rows = document.querySelectorAll("[data-formset='waypoints'] [data-testid='waypoint-row']");
    var points = [];
    rows.forEach(function (row, i) {
      var lat = parseFloat((row.querySelector("input[name$='-lat']") || {}).value);
      var lon = parseFloat((row.querySelector("input[name$='-lon']") || {}).value);
      var name = (row.querySelector("input[name$='-name']") || {}).value || "";
      var removed = row.querySelector("input[name$='-DELETE']");
      if (isNaN(lat) || isNaN(lon) || (removed && removed.checked)) return;
      points.push({ lat: lat, lon: lon, label: String(i + 1) + (name ? ". " + name : "") });
    });
    return points;
  }

  window.addEventListener("map:init", function (event) {
    var map = event.detail.map;
    if (map.getContainer().id !== "id_route-map") return;
    // Under the drawing (the overlay pane) and deaf to clicks, which belong to the line tool.
    var layer = L.layerGroup().addTo(map);
    function refresh() {
      layer.clearLayers();
      typedWaypoints().forEach(function (p) {
        L.circleMarker([p.lat, p.lon], {
          radius: 7, weight: 2, color: "#fff", fillColor: "#0b4f9c", fillOpacity: 1,
          interactive: false, className: "plan-waypoint"
        }).bindTooltip(MissionDom.text(p.label), {
          permanent: true, direction: "right", offset: [8, 0], className: "plan-waypoint-label"
        }).addTo(layer);
      });
    }
    var section = document.querySelector("[data-formset='waypoints']");
    if (section) {
      section.addEventListener("input", refresh);
      section.addEventListener("change", refresh);
    }
    refresh();
  });
})();
