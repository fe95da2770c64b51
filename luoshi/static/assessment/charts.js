// Assessment charts: each group's ranking as stacked bars of its score's composition (basic, bonus,
// deduction shown below zero), and a unit's totals and ranks across published periods.
(function () {
  "use strict";

  // Canvas tooltips ("richText"): no HTML, so nothing from the database becomes markup and the
  // Content-Security-Policy's ban on inline styles holds. "{" and "}" are rich-text syntax: drop them.
  function plain(text) {
    return String(text).replace(/[{}]/g, "");
  }

  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function rankingChart(node, group) {
    var units = group.units.slice().reverse(); // the first at the top
    function series(name, values, colour) {
      return { name: name, type: "bar", stack: "score", data: values.slice().reverse(), itemStyle: { color: colour } };
    }
    echarts.init(node).setOption({
      tooltip: {
        renderMode: "richText",
        trigger: "axis",
        axisPointer: { type: "shadow" },
        formatter: function (items) {
          var index = items[0].dataIndex;
          return plain(units[index]) + "\n" + items.map(function (item) {
            return plain(item.seriesName) + "：" + item.value;
          }).join("\n") + "\n" + node.dataset.totalLabel + "：" + group.total.slice().reverse()[index];
        },
      },
      legend: { bottom: 0 },
      grid: { left: 8, right: 16, top: 8, bottom: 32, containLabel: true },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: units.map(plain) },
      series: [
        series(node.dataset.basicLabel, group.basic, "#206bc4"),
        series(node.dataset.bonusLabel, group.bonus, "#2fb344"),
        series(node.dataset.deductionLabel, group.deduction, "#d63939"),
      ],
    });
  }

  function trendChart(node, trend) {
    echarts.init(node).setOption({
      tooltip: { renderMode: "richText", trigger: "axis" },
      legend: { bottom: 0 },
      grid: { left: 8, right: 16, top: 16, bottom: 32, containLabel: true },
      xAxis: { type: "category", data: trend.periods.map(plain) },
      yAxis: [{ type: "value", name: node.dataset.totalLabel }, { type: "value", name: node.dataset.rankLabel, inverse: true, minInterval: 1 }],
      series: [
        { name: node.dataset.totalLabel, type: "line", data: trend.totals },
        { name: node.dataset.rankLabel, type: "line", yAxisIndex: 1, data: trend.ranks },
      ],
    });
  }

  var ranking = data("ranking-data");
  if (ranking) {
    document.querySelectorAll("[data-ranking-chart]").forEach(function (node) {
      var group = ranking[Number(node.dataset.rankingChart)];
      if (group && group.units.length) {
        rankingChart(node, group);
      }
    });
  }
  var trend = data("trend-data");
  var trendNode = document.querySelector("[data-trend-chart]");
  if (trend && trendNode && trend.periods.length) {
    trendChart(trendNode, trend);
  }
})();
