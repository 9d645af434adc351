// Behaviour the pages share. No inline scripts anywhere: the CSP forbids them.
(function () {
  "use strict";

  // Forms marked data-confirm ask before they submit (deleting a guardian, cancelling a certificate).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);

  // A submit button is disabled while its form is on its way, so a double click sends one request.
  // Only for changes (POST): a search or a download (GET) changes nothing and may not reload the
  // page, which would leave its button disabled.
  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) return;
    if ((event.target.getAttribute("method") || "get").toLowerCase() !== "post") return;
    var buttons = event.target.querySelectorAll("button[type=submit], button:not([type])");
    window.setTimeout(function () {
      buttons.forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  function drawCharts(root) {
    if (!window.echarts) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.source);
      if (!source) return;
      var data = JSON.parse(source.textContent)[el.dataset.key];
      var chart = window.echarts.init(el);
      if (el.dataset.chart === "bar") {
        chart.setOption({
          tooltip: {},
          grid: { left: 48, right: 16, top: 16, bottom: 80 },
          xAxis: { type: "category", data: data.labels, axisLabel: { rotate: 40 } },
          yAxis: { type: "value" },
          series: [{ type: "bar", data: data.values, itemStyle: { color: "#1f5fa8" } }]
        });
      } else if (el.dataset.chart === "lines") {
        chart.setOption({
          tooltip: { trigger: "axis" },
          legend: { bottom: 0 },
          grid: { left: 56, right: 16, top: 16, bottom: 56 },
          xAxis: { type: "category", data: data.labels },
          yAxis: { type: "value" },
          series: data.series.map(function (s) { return { name: s.name, type: "line", data: s.values }; })
        });
      } else {
        chart.setOption({
          tooltip: { trigger: "item" },
          legend: { bottom: 0 },
          series: [{ type: "pie", radius: ["35%", "65%"], data: data }]
        });
      }
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });
})();
