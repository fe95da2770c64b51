// The battle map's charts: data comes from the json_script tag, every bar and slice links to its items.
(function () {
  "use strict";

  // Tooltips are drawn on the canvas ("richText"), not as HTML: ECharts' HTML tooltips carry inline
  // style attributes, which the Content-Security-Policy forbids, and names from the database (unit
  // names) can then never become markup. Only "{" and "}" mean something in rich text: drop them.
  function plain(text) {
    return String(text).replace(/[{}]/g, "");
  }

  function tooltip(options) {
    return Object.assign({ renderMode: "richText" }, options);
  }

  function pie(data) {
    return {
      tooltip: tooltip({
        trigger: "item",
        formatter: function (p) { return plain(p.name) + "：" + p.value + "（" + p.percent + "%）"; },
      }),
      legend: { bottom: 0, type: "scroll" },
      series: [{
        type: "pie",
        radius: ["40%", "70%"],
        avoidLabelOverlap: true,
        label: { formatter: "{b}\n{c}" },
        data: data.map(function (d) {
          return { name: d.name, value: d.value, url: d.url, itemStyle: { color: d.color } };
        }),
      }],
    };
  }

  function unitsChart(units, labels) {
    var rows = units.slice().reverse(); // best at the top
    return {
      tooltip: tooltip({
        trigger: "item",
        formatter: function (p) {
          var d = p.data;
          return plain(d.name) + "\n" + labels.rate + "：" + d.value +
            "\n" + labels.done + "：" + d.done + "，" + labels.onTime + "：" + d.onTime;
        },
      }),
      grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: "value", max: 100 },
      yAxis: { type: "category", data: rows.map(function (d) { return d.name; }) },
      series: [{
        type: "bar",
        data: rows.map(function (d) {
          return { name: d.name, value: d.value, done: d.done, onTime: d.onTime, url: d.url };
        }),
        label: { show: true, position: "right", formatter: "{c}%" },
      }],
    };
  }

  function monthsChart(months) {
    return {
      tooltip: tooltip({ trigger: "axis", axisPointer: { type: "shadow" } }),
      legend: { bottom: 0, type: "scroll" },
      grid: { left: 8, right: 8, top: 8, bottom: 40, containLabel: true },
      xAxis: { type: "category", data: months.labels },
      yAxis: { type: "value", minInterval: 1 },
      series: months.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "total", itemStyle: { color: s.color }, data: s.data };
      }),
    };
  }

  function optionFor(name, data) {
    if (name === "colors") return pie(data.colors);
    if (name === "schedule") return pie(data.schedule);
    if (name === "units") return unitsChart(data.units, data.labels);
    if (name === "months") return monthsChart(data.months);
    return null;
  }

  function init() {
    var source = document.getElementById("battle-map-data");
    if (!source || typeof echarts === "undefined") return;
    var data = JSON.parse(source.textContent);
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (element) {
      var option = optionFor(element.dataset.chart, data);
      if (!option) return;
      var chart = echarts.init(element);
      chart.setOption(option);
      chart.on("click", function (params) {
        if (params.data && params.data.url) window.location.assign(params.data.url);
      });
      charts.push(chart);
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (chart) { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
