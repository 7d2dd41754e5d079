/* Maps on the listing form and the listing page, with Leaflet (vendored under
   /static/vendor/leaflet/, served by this node). A progressive enhancement: without
   JavaScript, or when Leaflet or the tiles do not load, the coordinate fields and the
   named places work as they are. The CSP allows no inline script, so this file reads its
   settings from data- attributes. */
(function () {
  "use strict";

  var DEFAULT_ZOOM = 14;
  var WORLD_ZOOM = 2;

  function escapeText(text) {
    // Leaflet writes the attribution as HTML; the setting is plain text
    return String(text).replace(/[&<>"']/g, function (c) {
      return "&#" + c.charCodeAt(0) + ";";
    });
  }

  function makeMap(element) {
    element.hidden = false;
    var map = L.map(element);
    L.tileLayer(element.dataset.tiles, {
      maxZoom: 19,
      attribution: escapeText(element.dataset.attribution || "")
    }).addTo(map);
    return map;
  }

  function number(input) {
    var value = parseFloat(input.value);
    return isFinite(value) ? value : null;
  }

  function pick(element) {
    var form = element.closest("form");
    var lat = form.querySelector("[name=latitude]");
    var lon = form.querySelector("[name=longitude]");
    var named = form.querySelector("select[name=place_id]");
    var place = form.querySelector("[name=place]");
    var map = makeMap(element);
    var marker = null;

    function show(latitude, longitude, zoom) {
      if (marker) {
        marker.setLatLng([latitude, longitude]);
      } else {
        marker = L.marker([latitude, longitude]).addTo(map);
      }
      map.setView([latitude, longitude], zoom || map.getZoom() || DEFAULT_ZOOM);
    }

    function fromFields() {
      var latitude = number(lat), longitude = number(lon);
      if (latitude !== null && longitude !== null) {
        show(latitude, longitude, DEFAULT_ZOOM);
        return true;
      }
      return false;
    }

    if (!fromFields()) {
      map.setView([20, 0], WORLD_ZOOM);
    }
    map.on("click", function (event) {
      // rounded as the node rounds them (two decimals, about a kilometre)
      lat.value = event.latlng.lat.toFixed(2);
      lon.value = L.Util.wrapNum(event.latlng.lng, [-180, 180], true).toFixed(2);
      if (named) {
        named.value = ""; // a point of one's own, not the named place
      }
      show(number(lat), number(lon));
    });
    [lat, lon].forEach(function (input) {
      input.addEventListener("change", fromFields);
    });
    if (named) {
      named.addEventListener("change", function () {
        var option = named.options[named.selectedIndex];
        if (!option.value) {
          return;
        }
        lat.value = option.dataset.latitude;
        lon.value = option.dataset.longitude;
        if (place) {
          place.value = option.textContent.trim();
        }
        fromFields();
      });
    }
  }

  function showPoint(element) {
    var latitude = parseFloat(element.dataset.latitude);
    var longitude = parseFloat(element.dataset.longitude);
    if (!isFinite(latitude) || !isFinite(longitude)) {
      return;
    }
    var map = makeMap(element);
    map.setView([latitude, longitude], DEFAULT_ZOOM);
    L.marker([latitude, longitude], {
      alt: element.dataset.label || "",
      keyboard: false
    }).addTo(map);
  }

  function start() {
    if (typeof L === "undefined") {
      return; // Leaflet did not load: the fields do the work
    }
    document.querySelectorAll("[data-map=pick]").forEach(pick);
    document.querySelectorAll("[data-map=show]").forEach(showPoint);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
