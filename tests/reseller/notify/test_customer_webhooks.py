"""Customer webhooks (docs/webhooks.md) against a real HTTP receiver: the documented body, signed,
once per SMS; retries with the documented schedule; given up after 8 tries; public addresses only
unless allowed; rentals' own `url` first; the admin's pages and retry."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer
from billing.markup import markup_set
from billing.selectors import wallet_of
from reseller.models import CustomerWebhook, WebhookDelivery
from reseller.notify.admin import destination_problem
from reseller.notify.deliveries import max_tries
from reseller.rentals.lifecycle import rentals_sync
from reseller.rentals.purchase import RentalRequest, rental_purchase
from reseller.tasks import sweep_webhooks
from tests.reseller.conftest import deliver_sms
from tests.reseller.notify.receiver import Receiver
from upstream.models import Country, Provider, SandboxRental, Service
from upstream.services import catalogue_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def sms(django_capture_on_commit_callbacks):
    """Make the sandbox's SMS arrive and run one sync cycle; on-commit work runs as after a commit."""

    def run(activation):
        with django_capture_on_commit_callbacks(execute=True):
            deliver_sms(activation)
        activation.refresh_from_db()
        return activation

    return run


def buy(api, key):
    from reseller.models import Activation

    reply = api(key, "getNumber", service="tg", country="22")
    assert reply.startswith("ACCESS_NUMBER:"), reply
    return Activation.objects.get(pk=int(reply.split(":")[1]))


def hooked(customer, url, *, allow_private=True) -> CustomerWebhook:
    return CustomerWebhook.objects.create(customer=customer, url=url, allow_private=allow_private)


def valid_signature(secret: str, got) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), got.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(got.headers["X-Signature"], expected)


def next_try_now(django_capture_on_commit_callbacks) -> int:
    """Pretend the next try is due, and run the sweeper (beat) as the broker would: eagerly."""
    WebhookDelivery.objects.filter(state="pending").update(next_try_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        return sweep_webhooks()


def test_each_sms_is_posted_once_with_the_documented_body_and_a_valid_signature(
    sandbox, api, sms, receiver, customer_with_key, django_capture_on_commit_callbacks
):
    customer, key = customer_with_key(balance="100")
    hook = hooked(customer, receiver.url)
    a = sms(buy(api, key))
    assert a.state == "code_received" and len(receiver.received) == 1
    got = receiver.received[0]
    expected = {
        "activationId": a.pk,
        "service": "tg",
        "text": a.sms_text,
        "code": a.code,
        "country": 22,
        "receivedAt": timezone.localtime(a.sms_at).strftime("%Y-%m-%d %H:%M:%S"),
    }
    assert json.loads(got.body) == expected and list(json.loads(got.body)) == list(expected)  # the document's order
    assert got.body == json.dumps(expected, separators=(",", ":")).replace("/", "\\/").encode()
    assert got.headers["Content-Type"] == "application/json" and got.path == "/hook"
    assert valid_signature(hook.secret, got)
    delivery = WebhookDelivery.objects.get()
    assert got.headers["X-Delivery-Id"] == str(delivery.uid) and got.headers["X-Delivery-Attempt"] == "1"
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 1, 200)
    assert delivery.order_kind == "activation" and delivery.order_pk == a.pk

    sms(a)  # the same SMS seen again by the next sync: nothing new
    assert next_try_now(django_capture_on_commit_callbacks) == 0
    assert len(receiver.received) == 1 and WebhookDelivery.objects.count() == 1

    assert api(key, "setStatus", id=a.pk, status=3) == "ACCESS_RETRY_GET"
    a = sms(a)  # another SMS on the same number: a second delivery
    assert len(receiver.received) == 2 and WebhookDelivery.objects.count() == 2
    second = json.loads(receiver.received[1].body)
    assert second["code"] == a.code and second["activationId"] == a.pk
    assert receiver.received[1].headers["X-Delivery-Id"] != got.headers["X-Delivery-Id"]
    assert valid_signature(hook.secret, receiver.received[1])


def test_a_customer_without_a_webhook_gets_no_delivery(sandbox, api, sms, customer_with_key):
    _, key = customer_with_key(balance="100")
    CustomerWebhook.objects.create(customer=customer_with_key(balance="1")[0], url="http://127.0.0.1:1/x")
    assert sms(buy(api, key)).state == "code_received"
    assert not WebhookDelivery.objects.exists()


def test_a_receiver_failing_three_times_gets_it_on_the_fourth_try(
    sandbox, api, sms, customer_with_key, django_capture_on_commit_callbacks
):
    customer, key = customer_with_key(balance="100")
    with Receiver(answers=(500, 503, 404, 200)) as failing:
        hook = hooked(customer, failing.url)
        sms(buy(api, key))
        delivery = WebhookDelivery.objects.get()
        for tries in (1, 2, 3):
            delivery.refresh_from_db()
            assert (delivery.state, delivery.attempts) == ("pending", tries)
            assert delivery.last_error.startswith("HTTP ") and delivery.last_status in (500, 503, 404)
            wait = (delivery.next_try_at - delivery.last_try_at).total_seconds()
            assert wait == pytest.approx(settings.WEBHOOK_RETRY_DELAYS[tries - 1], abs=2)
            assert sweep_webhooks() == 0  # not due yet: nothing sent before its time
            assert len(failing.received) == tries
            assert next_try_now(django_capture_on_commit_callbacks) == 1
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts, delivery.last_status, delivery.last_error) == (
            "delivered",
            4,
            200,
            "",
        )
        assert len(failing.received) == 4
        assert [r.headers["X-Delivery-Attempt"] for r in failing.received] == ["1", "2", "3", "4"]
        assert {r.headers["X-Delivery-Id"] for r in failing.received} == {str(delivery.uid)}
        assert len({r.body for r in failing.received}) == 1 and all(
            valid_signature(hook.secret, r) for r in failing.received
        )
        assert next_try_now(django_capture_on_commit_callbacks) == 0 and len(failing.received) == 4


def test_a_receiver_that_never_answers_200_is_given_up_after_8_tries_and_can_be_retried(
    sandbox, api, sms, customer_with_key, django_capture_on_commit_callbacks
):
    assert max_tries() == 8 and sum(settings.WEBHOOK_RETRY_DELAYS) < 2 * 3600
    customer, key = customer_with_key(balance="100")
    with Receiver(answers=(500,)) as broken:
        hooked(customer, broken.url)
        sms(buy(api, key))
        for _ in range(12):
            next_try_now(django_capture_on_commit_callbacks)
        delivery = WebhookDelivery.objects.get()
        assert (delivery.state, delivery.attempts, delivery.next_try_at) == ("given_up", 8, None)
        assert delivery.last_error == "HTTP 500" and len(broken.received) == 8
        broken.answers = [200]
        from reseller.notify.deliveries import webhook_retry

        with django_capture_on_commit_callbacks(execute=True):
            assert webhook_retry(delivery=delivery)
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts) == ("delivered", 1) and len(broken.received) == 9
        assert not webhook_retry(delivery=delivery)  # delivered: left alone


def test_a_delivery_is_given_up_two_hours_after_its_sms_whatever_its_count(
    sandbox, api, sms, customer_with_key, django_capture_on_commit_callbacks
):
    customer, key = customer_with_key(balance="100")
    with Receiver(answers=(500,)) as broken:
        hooked(customer, broken.url)
        sms(buy(api, key))
        WebhookDelivery.objects.update(window_from=timezone.now() - timedelta(seconds=7200 - 60))
        next_try_now(django_capture_on_commit_callbacks)  # its next wait (2 min) would pass the 2 hours
        delivery = WebhookDelivery.objects.get()
        assert (delivery.state, delivery.attempts) == ("given_up", 2) and len(broken.received) == 2


def test_no_answer_in_time_is_a_failed_try_not_a_stuck_worker(
    sandbox, api, sms, customer_with_key, django_capture_on_commit_callbacks
):
    customer, key = customer_with_key(balance="100")
    with override_settings(WEBHOOK_READ_TIMEOUT_SECONDS=0.5), Receiver(hang=True) as hanging:
        hooked(customer, hanging.url)
        sms(buy(api, key))
        delivery = WebhookDelivery.objects.get()
        assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 1, None)
        assert delivery.last_error == "no answer within 0.5 s" and len(hanging.received) == 1


@pytest.mark.parametrize("status", [302, 204, 201])
def test_only_http_200_counts_and_redirects_are_not_followed(
    status, sandbox, api, sms, customer_with_key, django_capture_on_commit_callbacks
):
    customer, key = customer_with_key(balance="100")
    with Receiver(answers=(status,)) as odd:
        hooked(customer, odd.url)
        sms(buy(api, key))
        delivery = WebhookDelivery.objects.get()
        assert (delivery.state, delivery.last_status) == ("pending", status) and len(odd.received) == 1
        assert delivery.last_error.startswith(f"HTTP {status}")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_private_addresses_are_refused_unless_an_admin_allows_them(
    host, sandbox, api, sms, customer_with_key, django_capture_on_commit_callbacks
):
    customer, key = customer_with_key(balance="100")
    with Receiver() as local:
        url = local.url.replace("127.0.0.1", host)
        hook = hooked(customer, url, allow_private=False)
        sms(buy(api, key))
        delivery = WebhookDelivery.objects.get()
        assert delivery.state == "pending" and not local.received  # nothing was sent
        assert delivery.last_error.startswith("refused: ") and "loopback address" in delivery.last_error
        with override_settings(WEBHOOK_ALLOWED_NETWORKS=("127.0.0.0/8", "::1/128")):  # an allowed network
            next_try_now(django_capture_on_commit_callbacks)
        delivery.refresh_from_db()
        assert delivery.state == "delivered" and len(local.received) == 1

        assert api(key, "setStatus", id=delivery.order_pk, status=3) == "ACCESS_RETRY_GET"
        from reseller.models import Activation

        sms(Activation.objects.get(pk=delivery.order_pk))
        assert len(local.received) == 1  # refused again (no allowed network now)
        hook.allow_private = True  # the admin's per-customer switch
        hook.save()
        next_try_now(django_capture_on_commit_callbacks)
        assert len(local.received) == 2 and not WebhookDelivery.objects.exclude(state="delivered").exists()


def test_the_admin_form_checks_the_url_and_where_it_points():
    assert destination_problem("ftp://example.com/x", allow_private=False) == "not an http(s) URL"
    assert "credentials" in destination_problem("https://u:p@example.com/x", allow_private=False)
    assert "loopback address" in destination_problem("http://127.0.0.1:8000/x", allow_private=False)
    assert "private address" in destination_problem("http://10.1.2.3/x", allow_private=False)
    assert "link-local address" in destination_problem("http://169.254.169.254/latest", allow_private=False)
    assert destination_problem("http://10.1.2.3/x", allow_private=True) == ""
    assert destination_problem("http://93.184.215.14/x", allow_private=False) == ""


@pytest.fixture
def renting():
    provider = Provider.objects.create(slot=1, protocol="sandbox", name="rent", config={"rent_sms_every_seconds": 60})
    catalogue_sync(provider=provider)
    markup_set(scope="global", percent="20", product="rental")
    return provider


def rent(customer, url=""):
    return rental_purchase(
        RentalRequest(
            customer_id=customer.pk,
            wallet_id=wallet_of(customer).pk,
            country=Country.objects.get(pk=22),
            service=Service.objects.get(code="tg"),
            hours=24,
            webhook_url=url,
        )
    )


def sms_arrive(rental, seconds: int) -> None:
    """Move the sandbox rental `seconds` into the past: it sends one SMS a minute."""
    row = SandboxRental.objects.get(pk=int(rental.upstream_id))
    row.started_at -= timedelta(seconds=seconds)
    row.save()


def test_rental_sms_go_to_the_rentals_own_url_first_once_each(
    renting, customer_with_key, django_capture_on_commit_callbacks
):
    customer, _ = customer_with_key(balance="5000.00")
    with Receiver() as customers, Receiver() as rentals:
        hook = hooked(customer, customers.url)
        own, plain = rent(customer, url=rentals.url), rent(customer)
        sms_arrive(own, 150)
        sms_arrive(plain, 90)
        with django_capture_on_commit_callbacks(execute=True):
            rentals_sync(provider_id=renting.pk)
        assert own.messages.count() >= 2 and plain.messages.count() >= 1
        assert len(rentals.received) == own.messages.count() and len(customers.received) == plain.messages.count()
        for got, message in zip(rentals.received, own.messages.order_by("id"), strict=True):
            body = json.loads(got.body)
            assert body == {
                "activationId": own.pk,
                "service": "tg",
                "text": message.text,
                "code": message.code,
                "country": 22,
                "receivedAt": timezone.localtime(message.received_at).strftime("%Y-%m-%d %H:%M:%S"),
            }
            assert valid_signature(hook.secret, got)
        assert {json.loads(g.body)["activationId"] for g in customers.received} == {plain.pk}
        count = WebhookDelivery.objects.count()
        with django_capture_on_commit_callbacks(execute=True):
            rentals_sync(provider_id=renting.pk)  # the same SMS again: nothing new
        assert WebhookDelivery.objects.count() == count == len(rentals.received) + len(customers.received)


def test_a_rental_url_without_a_customer_webhook_is_signed_with_a_new_secret(
    renting, customer_with_key, django_capture_on_commit_callbacks
):
    customer, _ = customer_with_key(balance="5000.00")
    with Receiver() as rentals:
        rental = rent(customer, url=rentals.url)
        sms_arrive(rental, 70)
        with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=True), django_capture_on_commit_callbacks(execute=True):
            rentals_sync(provider_id=renting.pk)
        hook = CustomerWebhook.objects.get(customer=customer)
        assert hook.url == "" and len(hook.secret) == 64 and rentals.received
        assert all(valid_signature(hook.secret, r) for r in rentals.received)


@pytest.fixture
def admin_client(client):
    client.force_login(Customer.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_admin_sets_the_url_shows_the_secret_and_retries_what_was_given_up(
    admin_client, sandbox, api, sms, customer_with_key, django_capture_on_commit_callbacks
):
    customer, key = customer_with_key(balance="100")
    add = reverse("admin:reseller_customerwebhook_add")
    refused = admin_client.post(add, {"customer": customer.pk, "url": "http://127.0.0.1:9/x"})
    assert refused.status_code == 200 and b"loopback address" in refused.content
    with Receiver(answers=(500,)) as broken:
        saved = admin_client.post(add, {"customer": customer.pk, "url": broken.url, "allow_private": "on"})
        assert saved.status_code == 302
        hook = CustomerWebhook.objects.get(customer=customer)
        page = admin_client.get(reverse("admin:reseller_customerwebhook_change", args=[hook.pk]))
        assert hook.secret.encode() in page.content
        sms(buy(api, key))
        WebhookDelivery.objects.update(state="given_up", next_try_at=None)
        listing = admin_client.get(reverse("admin:reseller_webhookdelivery_changelist") + "?state=given_up")
        assert listing.status_code == 200 and b"HTTP 500" in listing.content
        broken.answers = [200]
        delivery = WebhookDelivery.objects.get()
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(
                reverse("admin:reseller_webhookdelivery_changelist"),
                {"action": "retry", "_selected_action": [delivery.pk]},
            )
        delivery.refresh_from_db()
        assert delivery.state == "delivered" and len(broken.received) == 2
        old = hook.secret
        admin_client.post(
            reverse("admin:reseller_customerwebhook_changelist"),
            {"action": "rotate_secrets", "_selected_action": [hook.pk]},
        )
        hook.refresh_from_db()
        assert hook.secret != old and len(hook.secret) == 64


def test_a_delivery_whose_message_was_lost_is_sent_by_the_sweeper(
    sandbox, api, sms, receiver, customer_with_key, django_capture_on_commit_callbacks, monkeypatch
):
    customer, key = customer_with_key(balance="100")
    hooked(customer, receiver.url)
    monkeypatch.setattr("reseller.notify.deliveries.send_soon", lambda delivery_id: False)  # the broker lost it
    a = sms(buy(api, key))
    delivery = WebhookDelivery.objects.get()
    assert a.state == "code_received" and delivery.attempts == 0 and not receiver.received  # the row is there
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_webhooks() == 1
    delivery.refresh_from_db()
    assert delivery.state == "delivered" and len(receiver.received) == 1


def test_a_try_in_flight_is_not_repeated_until_its_lease_ends(
    sandbox, api, sms, customer_with_key, django_capture_on_commit_callbacks
):
    from reseller.notify.deliveries import lease_seconds, webhook_deliver

    customer, key = customer_with_key(balance="100")
    with Receiver(answers=(500,)) as broken:
        hooked(customer, broken.url)
        sms(buy(api, key))
        delivery = WebhookDelivery.objects.get()
        now = timezone.now()
        # A worker claimed try 2 and died: the row is leased, no copy may send it meanwhile.
        WebhookDelivery.objects.update(attempts=2, next_try_at=now + timedelta(seconds=lease_seconds()))
        assert webhook_deliver(delivery_id=delivery.pk) is None and sweep_webhooks() == 0
        WebhookDelivery.objects.update(next_try_at=now - timedelta(seconds=1))  # the lease ended
        with django_capture_on_commit_callbacks(execute=True):
            assert sweep_webhooks() == 1
        delivery.refresh_from_db()
        assert delivery.attempts == 3 and len(broken.received) == 2


def test_the_customers_own_admin_page_sets_the_webhook(admin_client, customer_with_key):
    customer, _ = customer_with_key(balance="1", username="hooked")
    url = reverse("admin:accounts_customer_change", args=[customer.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and b"Webhook (SMS POSTed to the customer" in page.content
    form = page.context["adminform"].form
    skip = ("password", "groups", "user_permissions")
    data = {k: v for k, v in form.initial.items() if v is not None and k not in skip}
    data["date_joined_0"], data["date_joined_1"] = customer.date_joined.strftime("%Y-%m-%d %H:%M:%S").split()
    for formset in page.context["inline_admin_formsets"]:
        fs = formset.formset
        data.update({f"{fs.prefix}-TOTAL_FORMS": "1", f"{fs.prefix}-INITIAL_FORMS": "0"})
        if fs.model is CustomerWebhook:
            data[f"{fs.prefix}-0-url"] = "http://169.254.169.254/latest/meta-data"
    refused = admin_client.post(url, data)
    assert refused.status_code == 200 and b"link-local address" in refused.content
    assert not CustomerWebhook.objects.exists()
    prefix = next(f.formset.prefix for f in page.context["inline_admin_formsets"] if f.formset.model is CustomerWebhook)
    data[f"{prefix}-0-url"] = "https://93.184.215.14/hook"
    saved = admin_client.post(url, data)
    assert saved.status_code == 302, saved.content.decode()[:3000]
    hook = CustomerWebhook.objects.get(customer=customer)
    assert hook.url == "https://93.184.215.14/hook" and not hook.allow_private and len(hook.secret) == 64
    assert hook.secret.encode() in admin_client.get(url).content


def test_cheap_numbers_send_no_webhook(sandbox, api, sms, receiver, customer_with_key):
    """cheap_handler.php is OTPGet's (ids `ORD_...`), which documents no webhook."""
    from reseller.models import Activation

    customer, key = customer_with_key(balance="100")
    hooked(customer, receiver.url)
    a = buy(api, key)
    Activation.objects.filter(pk=a.pk).update(kind="cheap")
    a.refresh_from_db()
    assert sms(a).state == "code_received"
    assert not WebhookDelivery.objects.exists() and not receiver.received
