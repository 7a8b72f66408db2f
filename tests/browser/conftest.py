"""A real browser against the live server: Debian's Chromium driven by Selenium (see README, "Browser tests").

Fixtures:
- `browser`: the Selenium WebDriver (headless Chromium, 1400x1000), cookies cleared for each test;
  `browser.base_url` is the live server's URL, `browser.download_dir` this test's download folder.
- `admin_login(user=None, password=None)`: logs in through /admin/login/ like a person; no user
  means a fresh superuser. Returns the user.
- `screenshot(name, full_page=False)`: a PNG of the 1400x1000 viewport (or of the whole page),
  into the test's tmp folder, and into docs/img/<name>.png when WRITE_SCREENSHOTS=1.
  Returns the path written last.
- `sandbox`: a sandbox upstream with its catalogue (getNumber service=tg country=22 sells from it).
Helpers (waits, admin actions, API calls, downloads, chart content): tests/browser/helpers.py.

Chromium and chromedriver are found on PATH (or CHROMIUM_BIN / CHROMEDRIVER_BIN); scripts/test.sh
installs Debian's packages when missing. Without them the tests skip, except under CI (CI=true),
where they fail. Selenium Manager is never used (the driver path is given, SE_OFFLINE is set).
"""

import base64
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.browser.helpers import click_and_load, wait_css

HERE = Path(__file__).resolve().parent
SCREENSHOT_DIR = Path(settings.BASE_DIR) / "docs" / "img"
WINDOW = (1400, 1000)
os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager reach the network


def pytest_collection_modifyitems(config, items):
    """Every test under tests/browser is marked `browser` (run only them with -m browser)."""
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def _binary(env: str, name: str) -> str | None:
    path = os.environ.get(env) or shutil.which(name) or f"/usr/bin/{name}"
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


@pytest.fixture(scope="session")
def _chromium(django_db_setup, django_db_blocker):
    chromium, chromedriver = _binary("CHROMIUM_BIN", "chromium"), _binary("CHROMEDRIVER_BIN", "chromedriver")
    if not (chromium and chromedriver):
        missing = " and ".join(n for n, p in (("chromium", chromium), ("chromedriver", chromedriver)) if not p)
        reason = f"{missing} not found: install Debian's chromium and chromium-driver (scripts/test.sh does)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"browser tests cannot run under CI: {reason}", pytrace=False)
        pytest.skip(reason)

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",  # the tests may run as root (CI containers)
        "--disable-dev-shm-usage",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-sync",
        "--lang=en-US",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs", {"download.prompt_for_download": False, "safebrowsing.enabled": False, "intl.accept_languages": "en"}
    )
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    # --window-size counts the window's frame: make the page's viewport itself WINDOW.
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    size = driver.get_window_size()
    driver.set_window_size(size["width"] + WINDOW[0] - inner[0], size["height"] + WINDOW[1] - inner[1])
    driver.implicitly_wait(0.5)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()
    # Chromium's keep-alive sockets kept live-server threads (and their database connections)
    # open; they close now. Wait for them, or the test database cannot be dropped.
    with django_db_blocker.unblock():
        _wait_other_sessions_gone()


def _wait_other_sessions_gone(timeout: float = 5.0) -> None:
    from django.db import connection

    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.05)


@pytest.fixture
def browser(_chromium, live_server, tmp_path):
    """The shared Chromium, reset for this test: no cookies, a blank page, downloads into tmp."""
    driver = _chromium
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.execute_cdp_cmd("Storage.clearDataForOrigin", {"origin": live_server.url, "storageTypes": "all"})
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.get("about:blank")
    driver.base_url = live_server.url
    driver.download_dir = downloads
    yield driver
    driver.get("about:blank")  # nothing of this test's page keeps running into the next


@pytest.fixture
def admin_login(browser, django_user_model):
    """admin_login(user=None, password=None) -> user: sign in through the admin's login form."""

    def login(user=None, password=None):
        if user is None:
            user = django_user_model.objects.create_superuser("admin", "admin@example.com", "unused")
        if password is None:
            password = "browser-" + os.urandom(6).hex()
            user.set_password(password)
            user.save(update_fields=["password"])
        browser.get(f"{browser.base_url}/admin/login/?next=/admin/")
        wait_css(browser, "#id_username").send_keys(user.get_username())
        browser.find_element("css selector", "#id_password").send_keys(password)
        click_and_load(browser, "#login-form [type=submit]")
        wait_css(browser, "#user-tools")  # the header of a signed-in admin page
        return user

    return login


@pytest.fixture
def sandbox():
    """A sandbox upstream (slot 1) with its catalogue, whose SMS arrive only when a test delivers
    them (tests/reseller/conftest.py: deliver_sms): getNumber service=tg country=22 sells from it."""
    from upstream.services import catalogue_sync, provider_add

    provider = provider_add(
        slot=1, protocol="sandbox", url="", api_key="", name="sandbox one", config={"sms_delay_seconds": 3600}
    )
    catalogue_sync(provider=provider)
    return provider


@pytest.fixture
def screenshot(browser, tmp_path):
    """screenshot(name, full_page=False) -> Path: a PNG of the viewport (or of the whole page); also
    docs/img/<name>.png with WRITE_SCREENSHOTS=1."""

    def take(name: str, full_page: bool = False) -> Path:
        assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name), f"screenshot names are lowercase slugs: {name!r}"
        path = tmp_path / "screenshots" / f"{name}.png"
        path.parent.mkdir(exist_ok=True)
        if full_page:  # the whole document, however long, at the window's width
            size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
            clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
            shot = browser.execute_cdp_cmd(
                "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
            )
            path.write_bytes(base64.b64decode(shot["data"]))
        else:
            assert browser.save_screenshot(str(path)), f"Chromium wrote no screenshot {name}"
        if os.environ.get("WRITE_SCREENSHOTS") == "1":
            SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
            path = Path(shutil.copyfile(path, SCREENSHOT_DIR / f"{name}.png"))
        return path

    return take
