// The console's own script: draws the charts from the JSON a page embeds (no inline script: the CSP
// allows scripts from this site only). Apache ECharts is loaded by the pages that chart.
"use strict";
(function () {
  var COLORS = ["#2e7d32", "#1565c0", "#ef6c00", "#c62828"];

  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function chart(id) {
    var node = document.getElementById(id);
    if (!node || !window.echarts) return null;
    var instance = window.echarts.init(node, null, { renderer: "canvas" });
    window.addEventListener("resize", function () { instance.resize(); });
    return instance;
  }

  function dashboard(d) {
    var now = chart("chart-now");
    if (now) now.setOption({
      color: COLORS, tooltip: { trigger: "item", renderMode: "richText" },
      series: [{ type: "pie", radius: ["40%", "70%"],
        data: d.levels.map(function (name, i) { return { name: name, value: d.now[i] }; }) }]
    });
    var months = chart("chart-months");
    if (months) months.setOption({
      color: COLORS, tooltip: { trigger: "axis", renderMode: "richText" }, legend: { top: 0 },
      grid: { left: 48, right: 16, top: 36, bottom: 28 },
      xAxis: { type: "category", data: d.months }, yAxis: { type: "value" },
      series: d.levels.map(function (name, i) { return { name: name, type: "bar", stack: "all", data: d.series[i] }; })
    });
    var map = chart("chart-map");
    if (map) {
      fetch("/static/build/geo/" + d.map + ".json").then(function (r) {
        if (!r.ok) throw new Error("no boundaries for " + d.map);
        return r.json();
      }).then(function (geo) {
        window.echarts.registerMap(d.map, geo);
        var byCode = {};
        var top = 10;  // the scale's top: the highest share, rounded up to ten
        d.regions.forEach(function (r) { byCode[r.code] = r; top = Math.max(top, Math.ceil(r.share / 10) * 10); });
        map.setOption({
          tooltip: { trigger: "item", renderMode: "richText", formatter: function (p) {
            var r = byCode[p.data && p.data.code];
            return p.name + "\n" + d.labels.share + ": " + (r ? r.share + "%" : "—") + "\n" + d.labels.total + ": " + (r ? r.total : 0);
          } },
          visualMap: { min: 0, max: top, text: [top + "%", "0%"], calculable: true, inRange: { color: ["#e8f5e9", "#ffb74d", "#c62828"] }, left: 8, bottom: 8 },
          series: [{ type: "map", map: d.map, roam: true, nameProperty: "name",
            data: geo.features.map(function (f) {
              var r = byCode[f.properties.code] || byCode[f.properties.parent];
              return { name: f.properties.name, code: f.properties.code, value: r ? r.share : null };
            }) }]
        });
      }).catch(function () { document.getElementById("chart-map").classList.add("unavailable"); map.dispose(); });
    }
  }

  function history(d) {
    var c = chart("chart-history");
    if (!c || !d.points.length) return;
    c.setOption({
      tooltip: { trigger: "axis", renderMode: "richText" }, grid: { left: 48, right: 48, top: 24, bottom: 28 },
      xAxis: { type: "time" },
      yAxis: [{ type: "value", name: d.labels.score, scale: true },
              { type: "value", name: d.labels.level, min: 1, max: 4, interval: 1, inverse: true,
                axisLabel: { formatter: function (v) { return "ABCD"[v - 1] || ""; } } }],
      series: [{ name: d.labels.score, type: "line", data: d.points.map(function (p) { return [p[0], p[2]]; }) },
               { name: d.labels.level, type: "line", step: "end", yAxisIndex: 1, color: "#c62828",
                 data: d.points.map(function (p) { return [p[0], p[1]]; }) }]
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var d = data("dashboard-data");
    if (d) dashboard(d);
    var h = data("history-data");
    if (h) history(h);
  });
})();
