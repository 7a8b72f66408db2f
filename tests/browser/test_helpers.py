"""The browser helpers themselves, on a page of known content (tests/browser/urls.py)."""

import csv
import io

import pytest

from tests.browser.helpers import canvas_has_content, click_and_download, wait_canvas_drawn, wait_css
from tests.browser.urls import CSV_BODY, CSV_ROWS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.browser.urls")]


def test_canvas_and_svg_content(browser):
    browser.get(f"{browser.base_url}/_browser/charts")
    wait_css(browser, "#drawn")
    assert canvas_has_content(browser, "drawn")  # three pixels in a corner are found
    assert not canvas_has_content(browser, "blank")
    assert canvas_has_content(browser, "shapes")
    assert not canvas_has_content(browser, "bare")
    assert canvas_has_content(browser, "holder")  # an element holding the chart's svg
    wait_canvas_drawn(browser, "later")  # drawn after load
    with pytest.raises(AssertionError, match="no element"):
        canvas_has_content(browser, "missing")
    with pytest.raises(AssertionError, match="neither a canvas nor an svg"):
        canvas_has_content(browser, "text")


def test_download_waits_for_the_whole_file(browser):
    browser.get(f"{browser.base_url}/_browser/charts")
    fast = click_and_download(browser, "#fast")
    assert fast.name == "report-fast.csv" and fast.read_bytes() == CSV_BODY.encode()
    slow = click_and_download(browser, "#slow")  # partial for ~1 s: returned only once complete
    assert slow.name == "report-slow.csv" and slow.read_bytes() == fast.read_bytes()
    assert list(csv.reader(io.StringIO(slow.read_bytes().decode()))) == CSV_ROWS
    assert sorted(p.name for p in browser.download_dir.iterdir()) == ["report-fast.csv", "report-slow.csv"]
