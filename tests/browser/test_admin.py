"""The admin in a real browser: login, blocking a customer with a reason, the activations list."""

import struct

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from accounts.models import AuditEvent
from reseller.models import Activation
from tests.browser.helpers import (
    admin_run_action,
    api,
    click_and_load,
    messages,
    open_admin,
    wait_css,
    wait_text,
    wait_url,
)
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_gives_the_styled_admin_with_its_javascript(browser, admin_login, screenshot):
    browser.get(f"{browser.base_url}/admin/")
    wait_url(browser, "/admin/login/")  # not signed in: the login page
    user = admin_login()
    assert browser.current_url == f"{browser.base_url}/admin/"
    assert user.get_username().upper() in browser.find_element(By.ID, "user-tools").text.upper()
    # The admin's stylesheets came from the static files (a bare page has a transparent header).
    header = browser.execute_script("return getComputedStyle(document.getElementById('header')).backgroundColor")
    assert header not in ("rgba(0, 0, 0, 0)", "transparent"), header
    sheets = browser.execute_script("return [...document.styleSheets].map(s => s.href).filter(Boolean)")
    assert any(href.endswith("/static/admin/css/base.css") for href in sheets), sheets
    shot = screenshot("admin-index")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    assert struct.unpack(">II", shot.read_bytes()[16:24]) == (1400, 1000)  # the PNG's width and height
    whole = screenshot("admin-index-full", full_page=True)
    width, height = struct.unpack(">II", whole.read_bytes()[16:24])
    assert 1300 < width <= 1400 and height > 1000  # the page's width (no scrollbar); longer than one screen


def test_a_wrong_password_stays_on_the_login_page(browser, django_user_model):
    django_user_model.objects.create_superuser("root", "root@example.com", "right-password")
    browser.get(f"{browser.base_url}/admin/login/?next=/admin/")
    wait_css(browser, "#id_username").send_keys("root")
    browser.find_element(By.ID, "id_password").send_keys("wrong-password")
    click_and_load(browser, "#login-form [type=submit]")
    assert "/admin/login/" in browser.current_url
    assert "correct username and password" in wait_css(browser, ".errornote").text
    assert not browser.find_elements(By.ID, "user-tools")


def test_block_a_customer_with_a_reason(browser, admin_login):
    customer, key = CustomerFactory.create_with_key(balance="120.00", username="shop-7")
    other, other_key = CustomerFactory.create_with_key(balance="5.00", username="shop-8")
    assert api(browser.base_url, api_key=key, action="getBalance") == "ACCESS_BALANCE:120.00"
    admin = admin_login()

    open_admin(browser, "admin:accounts_customer_changelist")
    wait_text(browser, "#result_list", "shop-7")
    admin_run_action(browser, "block_customers", [customer.pk])
    # The action's own page: it lists the chosen customer and asks for the reason.
    assert "Block customers" in wait_css(browser, "#content h1").text
    assert [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#content ul li")] == ["shop-7"]
    browser.find_element(By.ID, "id_reason").send_keys("chargeback on card ending 4242")
    click_and_load(browser, '#content form input[type=submit][value="Block"]')
    assert messages(browser) == ["Blocked 1 customer(s)"]
    assert wait_url(browser, reverse("admin:accounts_customer_changelist"))

    customer.refresh_from_db()
    assert customer.is_blocked and customer.blocked_reason == "chargeback on card ending 4242"
    event = AuditEvent.objects.get(customer=customer, action=AuditEvent.Action.BLOCKED)
    assert event.actor_id == admin.pk and event.reason == "chargeback on card ending 4242"
    assert api(browser.base_url, api_key=key, action="getBalance") == "ACCOUNT_BLOCKED"
    # Only the ticked row: the other customer still works.
    other.refresh_from_db()
    assert not other.is_blocked
    assert api(browser.base_url, api_key=other_key, action="getBalance") == "ACCESS_BALANCE:5.00"


def test_the_activations_list_and_one_activation(browser, admin_login, sandbox):
    _, key = CustomerFactory.create_with_key(balance="1000.00", username="buyer-1")
    reply = api(browser.base_url, api_key=key, action="getNumber", service="tg", country="22")
    assert reply.startswith("ACCESS_NUMBER:"), reply
    activation = Activation.objects.get(pk=int(reply.split(":")[1]))
    admin_login()

    open_admin(browser, "admin:reseller_activation_changelist")
    row = wait_text(browser, "#result_list", activation.phone)
    assert "buyer-1" in row.text and "sandbox one" in row.text
    browser.find_element(By.CSS_SELECTOR, '#changelist-filter a[href*="state__exact=active"]').click()  # sidebar
    wait_url(browser, "state__exact=active")
    wait_text(browser, "#result_list", activation.phone)
    browser.find_element(By.LINK_TEXT, str(activation.pk)).click()
    wait_text(browser, "#content", "Purchase attempts")
    assert "bought" in browser.find_element(By.ID, "content").text
