/*
 * Where an incident may be placed, decided on the tablet before a report is saved, offline,
 * with the geography the tablet caches: the server's rule (reports/services/placement.py)
 * in the same words. The cases both must decide alike are reports/tests/placement_cases.json.
 *
 *   TabletPlacement.verdict({location: [lon, lat], observer: [lon, lat] | null,
 *                            provinces: GeoJSON, border: GeoJSON,
 *                            maxBeyondKm: 25, toleranceKm: 2, farthestKm: 100})
 *   -> {errors: {location: "...", observer_position: "..."}}
 *      or {sector: "Syunik", acrossLine: true, bearing: 94, distanceM: 8612}
 *
 * Distances: a local flat projection around the point (well under 1 % from the server's
 * geodesic ones at these ranges), so only a point within metres of a limit can be judged
 * otherwise by the two.
 */
(function () {
  "use strict";

  var EARTH_KM = 6371.0088;
  var RAD = Math.PI / 180;

  function at(point) {
    return point[1].toFixed(5) + "N " + point[0].toFixed(5) + "E";
  }

  function polygonsOf(geometry) {
    if (!geometry) return [];
    if (geometry.type === "Polygon") return [geometry.coordinates];
    if (geometry.type === "MultiPolygon") return geometry.coordinates;
    return [];
  }

  function linesOf(geometry) {
    if (!geometry) return [];
    if (geometry.type === "LineString") return [geometry.coordinates];
    if (geometry.type === "MultiLineString") return geometry.coordinates;
    return [];
  }

  function inRing(point, ring) {
    var x = point[0], y = point[1], inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }

  function inPolygon(point, rings) {
    if (!rings.length || !inRing(point, rings[0])) return false;
    for (var k = 1; k < rings.length; k++) if (inRing(point, rings[k])) return false;
    return true;
  }

  // Kilometres from `point` to the segment a-b, in a flat projection centred on the point.
  function segmentKm(point, a, b) {
    var k = Math.cos(point[1] * RAD) * RAD * EARTH_KM;
    var ax = (a[0] - point[0]) * k, ay = (a[1] - point[1]) * RAD * EARTH_KM;
    var bx = (b[0] - point[0]) * k, by = (b[1] - point[1]) * RAD * EARTH_KM;
    var dx = bx - ax, dy = by - ay, length2 = dx * dx + dy * dy;
    var t = length2 ? Math.max(0, Math.min(1, -(ax * dx + ay * dy) / length2)) : 0;
    var x = ax + t * dx, y = ay + t * dy;
    return Math.sqrt(x * x + y * y);
  }

  function pathKm(point, coordinates) {
    var best = Infinity;
    for (var i = 1; i < coordinates.length; i++) {
      best = Math.min(best, segmentKm(point, coordinates[i - 1], coordinates[i]));
    }
    return best;
  }

  function provinceAt(point, provinces, toleranceKm) {
    var features = (provinces && provinces.features) || [];
    // By name, as the server reads them (the first that holds the point).
    features = features.slice().sort(function (a, b) {
      var x = a.properties.name, y = b.properties.name;
      return x < y ? -1 : x > y ? 1 : 0;
    });
    for (var i = 0; i < features.length; i++) {
      if (polygonsOf(features[i].geometry).some(function (rings) { return inPolygon(point, rings); })) {
        return features[i].properties;
      }
    }
    // Outside every outline: the nearest within the tolerance (a generalised border).
    var nearest = null, nearestKm = Infinity;
    features.forEach(function (feature) {
      polygonsOf(feature.geometry).forEach(function (rings) {
        rings.forEach(function (ring) {
          var km = pathKm(point, ring);
          if (km < nearestKm) { nearestKm = km; nearest = feature.properties; }
        });
      });
    });
    return nearestKm <= toleranceKm ? nearest : null;
  }

  // The international line alone, or every stretch of the boundary (`anyStretch`: the
  // exclave and enclave edges too).
  function borderKm(point, border, anyStretch) {
    var best = Infinity;
    ((border && border.features) || []).forEach(function (feature) {
      if (!anyStretch && feature.properties && feature.properties.is_international === false) return;
      linesOf(feature.geometry).forEach(function (line) { best = Math.min(best, pathKm(point, line)); });
    });
    return best;
  }

  // To the nearest province's edge, for a point outside them all.
  function armeniaKm(point, provinces) {
    var best = Infinity;
    ((provinces && provinces.features) || []).forEach(function (feature) {
      polygonsOf(feature.geometry).forEach(function (rings) {
        rings.forEach(function (ring) { best = Math.min(best, pathKm(point, ring)); });
      });
    });
    return best;
  }

  // As the server (reports/services/placement.py SIDE_TOLERANCE_*).
  var SIDE_TOLERANCE_KM = 0.25, SIDE_TOLERANCE_SHARE = 0.02;

  function bearing(from, to) {
    var f1 = from[1] * RAD, f2 = to[1] * RAD, dl = (to[0] - from[0]) * RAD;
    var y = Math.sin(dl) * Math.cos(f2);
    var x = Math.cos(f1) * Math.sin(f2) - Math.sin(f1) * Math.cos(f2) * Math.cos(dl);
    return Math.round((Math.atan2(y, x) / RAD + 360) % 360) % 360;
  }

  function distanceM(from, to) {
    var f1 = from[1] * RAD, f2 = to[1] * RAD;
    var h = Math.pow(Math.sin((f2 - f1) / 2), 2) +
      Math.cos(f1) * Math.cos(f2) * Math.pow(Math.sin((to[0] - from[0]) * RAD / 2), 2);
    return Math.round(2 * EARTH_KM * 1000 * Math.asin(Math.min(1, Math.sqrt(h))));
  }

  function formatKm(limit) {
    return String(Number(limit));
  }

  function verdict(input) {
    var location = input.location, observer = input.observer;
    var tolerance = input.toleranceKm, limit = input.maxBeyondKm;
    var errors = {};
    var observerSector = null;
    if (observer) {
      var standing = provinceAt(observer, input.provinces, tolerance);
      if (standing && standing.is_sector) observerSector = standing.name;
      else errors.observer_position = "Your position (" + at(observer) + ") is outside the mission area: the observer must stand in one of the five border provinces.";
    }
    var province = provinceAt(location, input.provinces, tolerance);
    var across = province === null;
    if (province && !province.is_sector) {
      errors.location = at(location) + " is in " + province.name + ", outside the mission area (the five border provinces).";
    } else if (across) {
      if (borderKm(location, input.border) > limit) {
        errors.location = at(location) + " is outside the mission area and more than " + formatKm(limit) + " km beyond the border: an incident across the line must lie within " + formatKm(limit) + " km of it.";
      } else if (borderKm(location, input.border, true) > armeniaKm(location, input.provinces) * (1 + SIDE_TOLERANCE_SHARE) + SIDE_TOLERANCE_KM) {
        errors.location = at(location) + " is outside the mission area, beyond Armenia's border with another country: an incident across the line must lie on the Azerbaijani side of it.";
      } else if (!observer) {
        errors.location = at(location) + " is across the line, outside the mission area: give your position (where you stood, in the mission area) to report what you saw there.";
      }
    }
    if (observer && !errors.location && !errors.observer_position && input.farthestKm &&
        distanceM(observer, location) / 1000 > input.farthestKm) {
      errors.location = at(location) + " is more than " + formatKm(input.farthestKm) + " km from your position: too far to have been seen from there.";
    }
    if (Object.keys(errors).length) return { errors: errors };
    return {
      sector: across ? observerSector : province.name,
      acrossLine: across,
      bearing: observer ? bearing(observer, location) : null,
      distanceM: observer ? distanceM(observer, location) : null
    };
  }

  // Where an incident lies, from the observer's position, a bearing and a distance.
  function destination(from, bearingDegrees, metres) {
    var d = metres / 1000 / EARTH_KM, t = bearingDegrees * RAD;
    var f1 = from[1] * RAD, l1 = from[0] * RAD;
    var f2 = Math.asin(Math.sin(f1) * Math.cos(d) + Math.cos(f1) * Math.sin(d) * Math.cos(t));
    var l2 = l1 + Math.atan2(Math.sin(t) * Math.sin(d) * Math.cos(f1), Math.cos(d) - Math.sin(f1) * Math.sin(f2));
    return [Math.round(l2 / RAD * 1e6) / 1e6, Math.round(f2 / RAD * 1e6) / 1e6];
  }

  window.TabletPlacement = { verdict: verdict, destination: destination, bearing: bearing, distanceM: distanceM };
})();
