// The rectification overview's bar charts: closure rate per unit and per ledger, data from json_script.
(function () {
  "use strict";

  // Tooltips drawn as rich text, not HTML: the CSP forbids ECharts' inline styles, and unit names stay text.
  function plain(text) {
    return String(text).replace(/[{}]/g, "");
  }

  function draw(element) {
    var source = document.getElementById(element.dataset.rectificationChart);
    if (!source || !window.echarts) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var labels = data.labels.slice().reverse();
    var values = data.values.slice().reverse();
    var chart = window.echarts.init(element);
    chart.setOption({
      tooltip: {
        renderMode: "richText",
        trigger: "item",
        formatter: function (p) { return plain(p.name) + "：" + p.value + "%"; },
      },
      grid: { left: 8, right: 32, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", max: 100 },
      yAxis: { type: "category", data: labels },
      series: [{ type: "bar", data: values, label: { show: true, position: "right", formatter: "{c}%" } }],
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  document.querySelectorAll("[data-rectification-chart]").forEach(draw);
})();
