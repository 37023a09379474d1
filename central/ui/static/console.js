/* Caudal console: the map of the Resumen and the charts of a Punto. No build step. */
(function () {
  "use strict";
  var COLOURS = { green: "#1a7f37", yellow: "#d4a72c", red: "#b42318", none: "#57606a" };

  function jsonOf(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function drawMap() {
    var box = document.getElementById("mapa");
    var markers = jsonOf("marcadores");
    if (!box || !markers || typeof L === "undefined") { return; }
    var map = L.map(box, { scrollWheelZoom: false });
    if (box.dataset.tiles) {
      L.tileLayer(box.dataset.tiles, { maxZoom: 18, attribution: box.dataset.attribution }).addTo(map);
    }
    var bounds = [];
    markers.forEach(function (m) {
      var marker = L.circleMarker([m.lat, m.lon], {
        radius: 10, color: "#1b1f24", weight: 2, fillColor: COLOURS[m.colour], fillOpacity: 0.95,
        className: "marker marker-" + m.colour
      }).addTo(map);
      var link = document.createElement("a");
      link.href = "/ui/puntos/" + encodeURIComponent(m.code);
      link.textContent = m.code + " · " + m.name + " (" + m.label + ")";
      marker.bindPopup(link);
      marker.bindTooltip(m.code + ": " + m.label);
      bounds.push([m.lat, m.lon]);
    });
    if (bounds.length) { map.fitBounds(bounds, { padding: [40, 40], maxZoom: 13 }); } else { map.setView([-33.45, -70.66], 6); }
  }

  var CHARTS = {
    flow: { t: "t", series: [["flow_avg", "Promedio", "#0b5cad"], ["flow_min", "Mínimo", "#8fb8de"], ["flow_max", "Máximo", "#b42318"]], unit: "L/s" },
    volume: { t: "day_t", series: [["day_volume", "Volumen", "#1a7f37"]], unit: "m³", bars: true },
    level: { t: "t", series: [["level_min", "Mínimo", "#6f42c1"], ["level_max", "Máximo", "#d4a72c"]], unit: "m" },
    water_table: { t: "t", series: [["water_table_min", "Mínimo", "#0d2b45"], ["water_table_max", "Máximo", "#8a6100"]], unit: "m" }
  };
  var NUMBER = new Intl.NumberFormat("es-CL", { maximumFractionDigits: 2 });
  var WHEN = new Intl.DateTimeFormat("es-CL", { timeZone: "America/Santiago", day: "2-digit", month: "2-digit",
                                                hour: "2-digit", minute: "2-digit", hour12: false });
  function when(seconds) { return seconds == null ? "—" : WHEN.format(new Date(seconds * 1e3)); }
  function tick(seconds) { var text = when(seconds).split(", "); return text[1] + "\n" + text[0]; }

  function drawChart(box, data) {
    var spec = CHARTS[box.dataset.chart];
    var columns = [data[spec.t]];
    var series = [{ label: "Hora (Chile)", value: function (u, v) { return when(v); } }];
    spec.series.forEach(function (s) {
      columns.push(data[s[0]]);
      series.push({ label: s[1], stroke: s[2], width: 2, fill: spec.bars ? s[2] + "55" : undefined,
                    paths: spec.bars ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined,
                    value: function (u, v) { return v == null ? "—" : NUMBER.format(v) + " " + spec.unit; } });
    });
    var options = {
      width: Math.max(box.clientWidth, 280), height: 220, series: series,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "America/Santiago"); },
      axes: [{ space: 70, size: 50, values: function (u, ticks) { return ticks.map(tick); } }, { values: function (u, ticks) { return ticks.map(function (v) { return NUMBER.format(v); }); } }]
    };
    var chart = new uPlot(options, columns, box);
    window.addEventListener("resize", function () { chart.setSize({ width: Math.max(box.clientWidth, 280), height: 220 }); });
  }

  function drawCharts() {
    var data = jsonOf("datos-grafico");
    if (!data || typeof uPlot === "undefined") { return; }
    document.querySelectorAll("[data-chart]").forEach(function (box) { drawChart(box, data); });
  }

  document.addEventListener("DOMContentLoaded", function () { drawMap(); drawCharts(); });
}());
