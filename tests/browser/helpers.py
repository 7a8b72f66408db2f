"""Helpers for the browser tests (tests/browser): explicit waits, admin actions, downloads, charts.

Every function takes the Selenium driver first (the `browser` fixture of conftest.py). Waits are
explicit and bounded (WebDriverWait); nothing sleeps a fixed time.
"""

from __future__ import annotations

import time
from pathlib import Path

import requests
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

TIMEOUT = 10  # seconds; a page of the admin on the live server answers in well under one


def wait(driver: WebDriver, condition, timeout: float = TIMEOUT, message: str = ""):
    """WebDriverWait(driver, timeout).until(condition): the value the condition returned."""
    return WebDriverWait(driver, timeout).until(condition, message)


def wait_css(driver: WebDriver, css: str, timeout: float = TIMEOUT) -> WebElement:
    """The first element matching `css` once it is visible."""
    return wait(driver, EC.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout, f"no visible {css!r}")


def wait_clickable(driver: WebDriver, css: str, timeout: float = TIMEOUT) -> WebElement:
    return wait(driver, EC.element_to_be_clickable((By.CSS_SELECTOR, css)), timeout, f"{css!r} is not clickable")


def wait_text(driver: WebDriver, css: str, text: str, timeout: float = TIMEOUT) -> WebElement:
    """Wait until the element matching `css` contains `text`; return it."""
    wait(driver, EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text), timeout, f"{text!r} not in {css!r}")
    return driver.find_element(By.CSS_SELECTOR, css)


def wait_url(driver: WebDriver, fragment: str, timeout: float = TIMEOUT) -> str:
    """Wait until the current URL contains `fragment`; return the URL."""
    wait(driver, EC.url_contains(fragment), timeout, f"URL never contained {fragment!r}")
    return driver.current_url


def wait_page(driver: WebDriver, timeout: float = TIMEOUT) -> None:
    """Wait until the document has loaded (after a click that navigates)."""
    wait(driver, lambda d: d.execute_script("return document.readyState") == "complete", timeout, "page never loaded")


def click_and_load(driver: WebDriver, target: WebElement | str, timeout: float = TIMEOUT) -> None:
    """Click `target` (an element or a CSS selector) that navigates, and wait for the new page: the old
    document must go stale first (readyState alone is already "complete" on the page being left, and
    a URL check passes early when the page left and the one reached share a prefix, as an admin
    change page and its changelist do)."""
    element = driver.find_element(By.CSS_SELECTOR, target) if isinstance(target, str) else target
    old = driver.find_element(By.TAG_NAME, "html")
    element.click()
    wait(driver, EC.staleness_of(old), timeout, "the click never left the page")
    wait_page(driver, timeout)


def open_admin(driver: WebDriver, viewname: str, *args, query: str = "") -> str:
    """Open an admin page by its URL name on the live server, e.g.
    open_admin(browser, "admin:accounts_customer_changelist", query="?is_blocked__exact=1"); returns the URL."""
    url = driver.base_url + reverse(viewname, args=args) + query
    driver.get(url)
    wait_page(driver)
    return url


def api(base_url: str, endpoint: str = "handler_api.php", **params) -> str:
    """One real HTTP GET of a protocol endpoint on the live server (`browser.base_url` or
    `live_server.url`): api(browser.base_url, api_key=key, action="getBalance") -> "ACCESS_BALANCE:..."."""
    response = requests.get(f"{base_url}/stubs/{endpoint}", params=params, timeout=30)
    assert response.status_code == 200, (response.status_code, response.text[:200])
    return response.text


def messages(driver: WebDriver) -> list[str]:
    """The texts of the admin's message list (success/warning/error banners) on the current page, as
    the page holds them (textContent, not the CSS-styled .text); the admin's template capfirst's them."""
    items = driver.find_elements(By.CSS_SELECTOR, "ul.messagelist li")
    return [li.get_attribute("textContent").strip() for li in items]


def admin_run_action(driver: WebDriver, action: str, pks) -> None:
    """On an admin changelist page: tick the rows of `pks`, choose `action` in the select, press Go.

    The row checkboxes and the Go button are Django's own (`input.action-select`, actions.js);
    the counter ("1 of 3 selected") proves the admin's JavaScript ran."""
    pks = [str(pk) for pk in pks]
    for pk in pks:
        box = wait_clickable(driver, f'input.action-select[value="{pk}"]')
        if not box.is_selected():
            box.click()
    wait_text(driver, ".action-counter", f"{len(pks)} of")
    Select(driver.find_element(By.CSS_SELECTOR, 'select[name="action"]')).select_by_value(action)
    click_and_load(driver, 'button[name="index"]')


def click_and_download(
    driver: WebDriver, target: WebElement | str, download_dir: Path | None = None, timeout: float = 15
) -> Path:
    """Click `target` (an element or a CSS selector) and return the file it downloads, complete.

    The file is the one new name in the download directory (the `browser` fixture's
    `driver.download_dir` unless given), once Chromium's partial file (.crdownload) is gone and
    its size has stopped changing."""
    folder = Path(download_dir or driver.download_dir)
    before = set(folder.iterdir())
    element = wait_clickable(driver, target, timeout) if isinstance(target, str) else target
    element.click()
    deadline = time.monotonic() + timeout
    last: tuple[Path, int] | None = None
    new: list[Path] = []
    while time.monotonic() < deadline:
        new = [p for p in folder.iterdir() if p not in before]
        partial = [p for p in new if p.suffix in (".crdownload", ".tmp") or p.name.startswith(".")]
        done = [p for p in new if p not in partial]
        if done and not partial:
            if len(done) > 1:
                raise AssertionError(f"one click downloaded {len(done)} files: {sorted(p.name for p in done)}")
            size = done[0].stat().st_size
            if last == (done[0], size):
                return done[0]
            last = (done[0], size)
        time.sleep(0.1)
    raise AssertionError(f"no complete download in {folder} after {timeout} s (saw {sorted(p.name for p in new)})")


# Scans the canvas's pixels in the page (a drawn chart has non-transparent pixels; an empty or
# not yet drawn canvas is all zero alpha), or counts an <svg>'s drawn shapes.
_CONTENT_JS = """
const el = document.getElementById(arguments[0]);
if (!el) return {error: "no element with id " + arguments[0]};
const tag = el.tagName.toLowerCase();
if (tag === "canvas") {
  if (!el.width || !el.height) return {drawn: false};
  const ctx = el.getContext("2d");
  if (!ctx) return {error: "canvas has no 2d context (webgl?)"};
  const data = ctx.getImageData(0, 0, el.width, el.height).data;
  for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) return {drawn: true}; }
  return {drawn: false};
}
const svg = tag === "svg" ? el : el.querySelector("svg");
if (!svg) return {error: "element " + arguments[0] + " is neither a canvas nor an svg nor holds one"};
const shapes = svg.querySelectorAll("path, rect, circle, ellipse, line, polyline, polygon, text");
for (const s of shapes) { const b = s.getBBox(); if (b.width > 0 || b.height > 0) return {drawn: true}; }
return {drawn: false};
"""


def canvas_has_content(driver: WebDriver, element_id: str) -> bool:
    """True if the <canvas id=element_id> has a non-transparent pixel, or the <svg> (the element or
    the first svg inside it) has a shape with a non-empty box. Unknown id: AssertionError."""
    result = driver.execute_script(_CONTENT_JS, element_id)
    if "error" in result:
        raise AssertionError(result["error"])
    return bool(result["drawn"])


def wait_canvas_drawn(driver: WebDriver, element_id: str, timeout: float = TIMEOUT) -> None:
    """Wait until canvas_has_content (charts draw after load, some animate)."""
    wait(driver, lambda d: canvas_has_content(d, element_id), timeout, f"#{element_id} never drawn")
