// The city map: the demo city's own OpenStreetMap roads, districts and points of interest.
// No tile layer: everything drawn here comes from the platform's /api/city endpoints.
import * as L from "/static/vendor/leaflet/leaflet-src.esm.js";
import { api } from "./api.js";
import { t, onLanguage } from "./i18n.js";

export { L };

const ROAD_STYLES = {
  motorway: { color: "#ff9e40", weight: 3.6 },
  trunk: { color: "#ffb454", weight: 3.2 },
  primary: { color: "#f2cc60", weight: 2.6 },
  secondary: { color: "#a5d6ff", weight: 2.0 },
  tertiary: { color: "#79a7d3", weight: 1.6 },
  residential: { color: "#55718c", weight: 1.1 },
  unclassified: { color: "#55718c", weight: 1.1 },
  living_street: { color: "#4b6580", weight: 1.0 },
  service: { color: "#3c536b", weight: 0.8 },
  pedestrian: { color: "#3f5a52", weight: 0.8 },
  footway: { color: "#34493f", weight: 0.6 },
  cycleway: { color: "#34493f", weight: 0.6 },
  path: { color: "#34493f", weight: 0.6 },
  track: { color: "#3b4a3a", weight: 0.6 },
  steps: { color: "#34493f", weight: 0.6 },
};
const ROAD_DEFAULT = { color: "#465d75", weight: 0.9 };

export const POI_KINDS = {
  hospital: { color: "#ff5d5d", radius: 6 },
  clinic: { color: "#f778ba", radius: 4.5 },
  police: { color: "#3b8eff", radius: 6 },
  fire_station: { color: "#ff8c1a", radius: 5.5 },
  school: { color: "#3fb950", radius: 4.5 },
  university: { color: "#a371f7", radius: 5 },
  traffic_signals: { color: "#e3e35a", radius: 2 },
};

const DISTRICT_COLOURS = ["#58a6ff", "#d2a8ff", "#3fb950", "#f2cc60", "#ff7b72", "#56d4dd",
  "#ffa657", "#a5d6ff", "#7ee787", "#f778ba"];

function roadStyle(feature) {
  const highway = String((feature.properties || {}).highway || "").replace(/_link$/, "");
  const base = ROAD_STYLES[highway] || ROAD_DEFAULT;
  return { ...base, opacity: 0.92, lineCap: "round", lineJoin: "round" };
}

function escapeHtml(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function setCount(id, value) {
  const el = document.getElementById(id);
  if (el) {
    el.textContent = String(value);
    el.dataset.count = String(value);
  }
}

/** The command centre's map and its layers. */
export class CityMap {
  constructor(element) {
    this.element = element;
    this.map = L.map(element, {
      zoomControl: true,
      attributionControl: true,
      preferCanvas: false,
      zoomSnap: 0.25,
      minZoom: 3,
      maxZoom: 19,
    });
    this.map.setView([0, 0], 3);
    for (const [name, z] of [["districts", 350], ["roads", 400], ["events", 560]]) {
      const pane = this.map.createPane(name);
      pane.style.zIndex = String(z);
      pane.dataset.layer = name;
    }
    this.poiPane = this.map.createPane("pois");
    this.poiPane.style.zIndex = "450";
    this.poiPane.dataset.layer = "pois";
    this.roadRenderer = L.canvas({ pane: "roads", padding: 0.5, tolerance: 3 });
    this.poiRenderer = L.canvas({ pane: "pois", padding: 0.5, tolerance: 4 });
    this.map.attributionControl.setPrefix(false);
    this.attribution = null;
    this.scale = L.control.scale({ imperial: false }).addTo(this.map);
    this.layers = { roads: null, districts: null, pois: null };
    this.events = L.layerGroup([], { pane: "events" }).addTo(this.map);
    this.layerControl = null;
    this.legend = null;
    this.poiCounts = {};
    this.city = null;
    this.setAttribution();
    onLanguage(() => this.relabel());
  }

  setAttribution() {
    if (this.attribution) this.map.attributionControl.removeAttribution(this.attribution);
    this.attribution = escapeHtml(t("web.map.attribution"));
    this.map.attributionControl.addAttribution(this.attribution);
  }

  /** Re-translate the controls after a language change. */
  relabel() {
    this.setAttribution();
    this.buildControls();
    if (this.layers.districts) {
      this.layers.districts.eachLayer((layer) => {
        const p = layer.feature.properties || {};
        layer.setPopupContent(this.districtPopup(p));
      });
    }
  }

  message(key, params) {
    const el = document.getElementById("map-message");
    if (!el) return;
    if (!key) {
      el.hidden = true;
      el.textContent = "";
      delete el.dataset.key;
      return;
    }
    el.dataset.key = key;
    el.textContent = t(key, params);
    el.hidden = false;
  }

  /** Load the platform's cities and draw the first (or `preferred`) one. */
  async loadCities(preferred) {
    let cities;
    try {
      cities = await api("/api/city/cities");
    } catch (err) {
      this.message("web.map.load_failed", { reason: err.message });
      throw err;
    }
    if (!Array.isArray(cities) || cities.length === 0) {
      this.message("web.map.no_city");
      return null;
    }
    const select = document.getElementById("city-select");
    if (select) {
      select.replaceChildren(...cities.map((c) => {
        const option = document.createElement("option");
        option.value = String(c.id);
        option.textContent = c.name;
        return option;
      }));
      select.hidden = cities.length < 2;
      select.onchange = () => this.drawCity(cities.find((c) => String(c.id) === select.value));
    }
    const city = cities.find((c) => String(c.id) === String(preferred)) || cities[0];
    if (select) select.value = String(city.id);
    await this.drawCity(city);
    return city;
  }

  /** Draw one city's roads, districts and points of interest and fit the view to it. */
  async drawCity(city) {
    this.city = city;
    const nameEl = document.getElementById("city-name");
    if (nameEl) nameEl.textContent = city.name;
    this.message("web.map.loading");
    if (Array.isArray(city.bbox) && city.bbox.length === 4) {
      const [minLon, minLat, maxLon, maxLat] = city.bbox;
      this.map.fitBounds([[minLat, minLon], [maxLat, maxLon]], { padding: [12, 12] });
    }
    const base = `/api/city/cities/${encodeURIComponent(city.id)}`;
    const [roads, districts, pois] = await Promise.all([
      api(`${base}/roads`), api(`${base}/districts`), api(`${base}/pois`),
    ]).catch((err) => {
      this.message("web.map.load_failed", { reason: err.message });
      throw err;
    });
    for (const layer of Object.values(this.layers)) if (layer) layer.remove();
    this.drawDistricts(districts);
    this.drawRoads(roads);
    this.drawPois(pois);
    this.buildControls();
    this.message(null);
    this.element.dataset.city = String(city.id);
    this.element.dataset.ready = "true";
  }

  drawRoads(collection) {
    const features = (collection && collection.features) || [];
    this.layers.roads = L.geoJSON(features, {
      renderer: this.roadRenderer,
      pane: "roads",
      style: roadStyle,
      interactive: true,
      onEachFeature: (feature, layer) => {
        const p = feature.properties || {};
        if (p.name) layer.bindTooltip(escapeHtml(p.name), { sticky: true, className: "road-tip" });
      },
    }).addTo(this.map);
    setCount("roads-count", this.layers.roads.getLayers().length);
  }

  districtPopup(p) {
    return `<strong>${escapeHtml(p.name)}</strong><br>` +
      `${escapeHtml(t("web.map.district_code"))}: ${escapeHtml(p.code)}` +
      (p.jurisdiction_id != null
        ? `<br>${escapeHtml(t("web.map.jurisdiction"))}: ${escapeHtml(p.jurisdiction_id)}` : "");
  }

  drawDistricts(collection) {
    const features = (collection && collection.features) || [];
    let index = 0;
    this.layers.districts = L.geoJSON(features, {
      pane: "districts",
      style: () => {
        const colour = DISTRICT_COLOURS[index++ % DISTRICT_COLOURS.length];
        return { color: colour, weight: 1.6, opacity: 0.85, dashArray: "6 4",
          fillColor: colour, fillOpacity: 0.09 };
      },
      onEachFeature: (feature, layer) => {
        const p = feature.properties || {};
        layer.bindPopup(this.districtPopup(p));
        if (p.name) {
          layer.bindTooltip(escapeHtml(p.name), {
            permanent: true, direction: "center", className: "district-label", opacity: 1,
          });
        }
      },
    }).addTo(this.map);
    setCount("districts-count", this.layers.districts.getLayers().length);
  }

  poiPopup(p) {
    const kind = t(`web.poi.${p.kind}`);
    return `<strong>${escapeHtml(p.name || kind)}</strong><br>${escapeHtml(kind)}`;
  }

  drawPois(collection) {
    const features = (collection && collection.features) || [];
    this.poiCounts = {};
    this.layers.pois = L.geoJSON(features, {
      pointToLayer: (feature, latlng) => {
        const kind = (feature.properties || {}).kind;
        const style = POI_KINDS[kind] || { color: "#c9d1d9", radius: 3 };
        this.poiCounts[kind] = (this.poiCounts[kind] || 0) + 1;
        return L.circleMarker(latlng, {
          renderer: this.poiRenderer, pane: "pois", radius: style.radius,
          color: "#0b1724", weight: 1, fillColor: style.color, fillOpacity: 0.95,
        });
      },
      onEachFeature: (feature, layer) => {
        layer.bindPopup(() => this.poiPopup(feature.properties || {}));
      },
    }).addTo(this.map);
    setCount("pois-count", this.layers.pois.getLayers().length);
  }

  buildControls() {
    if (this.layerControl) this.layerControl.remove();
    if (this.legend) this.legend.remove();
    const overlays = {};
    if (this.layers.roads) overlays[escapeHtml(t("web.layer.roads"))] = this.layers.roads;
    if (this.layers.districts) {
      overlays[escapeHtml(t("web.layer.districts"))] = this.layers.districts;
    }
    if (this.layers.pois) overlays[escapeHtml(t("web.layer.pois"))] = this.layers.pois;
    overlays[escapeHtml(t("web.layer.events"))] = this.events;
    this.layerControl = L.control.layers(null, overlays, { collapsed: false, position: "topright" })
      .addTo(this.map);
    this.layerControl.getContainer().dataset.testid = "layer-control";

    const legend = L.control({ position: "bottomleft" });
    legend.onAdd = () => {
      const div = L.DomUtil.create("div", "map-legend");
      div.dataset.testid = "poi-legend";
      const title = L.DomUtil.create("div", "map-legend-title", div);
      title.textContent = t("web.map.legend");
      for (const [kind, style] of Object.entries(POI_KINDS)) {
        const row = L.DomUtil.create("div", "map-legend-row", div);
        const swatch = L.DomUtil.create("span", "swatch", row);
        swatch.style.background = style.color;
        const label = L.DomUtil.create("span", "", row);
        label.textContent = t(`web.poi.${kind}`);
        const count = L.DomUtil.create("span", "map-legend-count", row);
        count.textContent = String(this.poiCounts[kind] || 0);
      }
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    this.legend = legend.addTo(this.map);
  }

  /** Mark an event that carries a position; it fades after a minute. */
  showEvent(item, label) {
    const point = eventPosition(item.payload || {});
    if (!point) return;
    const marker = L.circleMarker([point.lat, point.lon], {
      pane: "events", radius: 9, color: "#ff4d4d", weight: 2, fillColor: "#ff4d4d",
      fillOpacity: 0.35, className: "event-pulse",
    }).bindTooltip(escapeHtml(label));
    this.events.addLayer(marker);
    setTimeout(() => this.events.removeLayer(marker), 60000);
  }

  invalidate() {
    this.map.invalidateSize();
  }
}

/** A position found in an event's payload (lon/lat, location, position or a GeoJSON point). */
export function eventPosition(payload) {
  const candidates = [payload, payload.location, payload.position, payload.point, payload.geometry];
  for (const c of candidates) {
    if (!c) continue;
    if (Array.isArray(c.coordinates) && c.coordinates.length >= 2) {
      return { lon: Number(c.coordinates[0]), lat: Number(c.coordinates[1]) };
    }
    if (Array.isArray(c) && c.length >= 2 && isFinite(c[0]) && isFinite(c[1])) {
      return { lon: Number(c[0]), lat: Number(c[1]) };
    }
    const lon = c.lon ?? c.lng ?? c.longitude;
    const lat = c.lat ?? c.latitude;
    if (isFinite(lon) && isFinite(lat) && lon !== null && lat !== null) {
      return { lon: Number(lon), lat: Number(lat) };
    }
  }
  return null;
}
