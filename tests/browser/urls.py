"""The project's URLs plus two pages the browser helpers are tested on (tests/browser/test_helpers.py).

Used only through @pytest.mark.urls("tests.browser.urls"); the project never routes here."""

import time

from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path

from reseller.urls import urlpatterns as project_urlpatterns

CSV_ROWS = [["day", "revenue", "cost"], *[[f"2026-11-{d:02d}", f"{d * 10}.00", f"{d * 7}.50"] for d in range(1, 31)]]
CSV_BODY = "".join(",".join(row) + "\r\n" for row in CSV_ROWS)

PAGE = """<!doctype html><html><head><title>charts</title></head><body>
<p><a id="fast" href="/_browser/fast.csv">fast CSV</a> <a id="slow" href="/_browser/slow.csv">slow CSV</a></p>
<canvas id="drawn" width="200" height="100"></canvas>
<canvas id="blank" width="200" height="100"></canvas>
<canvas id="later" width="200" height="100"></canvas>
<svg id="shapes" width="200" height="100"><rect x="10" y="10" width="50" height="30" fill="teal"/></svg>
<svg id="bare" width="200" height="100"><g></g></svg>
<div id="holder"><svg width="100" height="50"><circle cx="20" cy="20" r="10"/></svg></div>
<p id="text">not a chart</p>
<script>
document.getElementById("drawn").getContext("2d").fillRect(150, 80, 3, 3);
setTimeout(() => { document.getElementById("later").getContext("2d").fillRect(0, 0, 1, 1); }, 400);
</script></body></html>"""


def charts(request):
    return HttpResponse(PAGE)


def fast_csv(request):
    response = HttpResponse(CSV_BODY, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="report-fast.csv"'
    return response


def slow_csv(request):
    """The same CSV in three parts 0.4 s apart: the download is partial (.crdownload) for a while."""

    def parts():
        third = len(CSV_BODY) // 3
        for i in range(3):
            yield CSV_BODY[i * third : None if i == 2 else (i + 1) * third]
            time.sleep(0.4)

    response = StreamingHttpResponse(parts(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="report-slow.csv"'
    return response


urlpatterns = [
    path("_browser/charts", charts),
    path("_browser/fast.csv", fast_csv),
    path("_browser/slow.csv", slow_csv),
    *project_urlpatterns,
]
