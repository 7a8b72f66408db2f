// Draws the report's chart (Chart.js, vendored in vendor/) from the JSON the page embeds.
(function () {
  "use strict";
  var source = document.getElementById("report-chart-data");
  var canvas = document.getElementById("report-chart");
  if (!source || !canvas || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var colours = ["#2e7d32", "#c62828", "#1565c0", "#6a1b9a", "#ef6c00"];
  data.datasets.forEach(function (set, n) {
    set.borderColor = colours[n % colours.length];
    set.backgroundColor = colours[n % colours.length];
    set.tension = 0; // straight lines: a curve would dip below what was booked
  });
  window.reportChart = new Chart(canvas, {
    type: data.type,
    data: { labels: data.labels, datasets: data.datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: { y: { beginAtZero: true, title: { display: true, text: "PKR" } } },
    },
  });
})();
