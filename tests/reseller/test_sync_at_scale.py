"""Status sync at scale: 10,000 live activations over two SMS-Activate-compatible upstreams
(the fakes of tests/fakes, over real HTTP). The newest ones, never synced yet, receive their
SMS and must get them within a bounded number of cycles; an active list over 1 MiB is read.

The rows are made in bulk (`tests/bulk.py`: no 10,000 purchases), each with an open hold
that `ledger_verify` accepts."""

from decimal import Decimal

import pytest

from billing.models import Hold
from billing.selectors import wallet_of
from reseller import tasks
from reseller.activations.reconcile import provider_reconcile
from reseller.activations.sync import provider_sync_statuses
from reseller.models import Activation
from tests.bulk import COST, PRICE, make_live
from tests.fakes.sms_activate import FakeSmsActivate
from tests.fakes.sms_activate_compat import FakeSmsActivateCompat
from upstream.models import Country, Service
from upstream.providers import client_for, http
from upstream.providers.base import BadResponse
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db


def upstream(slot: int, fake) -> object:
    fake.set_offer(22, "tg", str(COST), 100)
    provider = provider_add(slot=slot, protocol="smsactivate", url=fake.url, api_key="k", currency="PKR")
    catalogue_sync(provider=provider)
    return provider


def test_newest_of_ten_thousand_live_get_their_codes(customer_with_key):
    customer, _ = customer_with_key(balance="20000.00")
    with FakeSmsActivate(api_key="k") as one, FakeSmsActivate(api_key="k") as two:
        newest = []
        for slot, fake in ((1, one), (2, two)):
            provider = upstream(slot, fake)
            make_live(customer, provider, fake, 4990, synced_ago=10)  # checked a moment ago
            rows = make_live(customer, provider, fake, 10, synced_ago=None)  # just bought, never checked
            for row in rows:
                fake.deliver_sms(row.upstream_id, f"{row.pk % 1000000:06d}")
            newest += rows
        assert Activation.objects.filter(state=Activation.State.ACTIVE).count() == 10_000

        for _cycle in range(3):  # the beat's task, as a worker runs it (eager in the suite)
            tasks.sync_statuses()
            if not Activation.objects.filter(pk__in=[a.pk for a in newest], state="active").exists():
                break
    got = Activation.objects.filter(pk__in=[a.pk for a in newest]).select_related("hold")
    assert {a.state for a in got} == {Activation.State.CODE_RECEIVED}
    assert all(a.code == f"{a.pk % 1000000:06d}" for a in got)
    assert {a.hold.status for a in got} == {Hold.Status.CAPTURED}  # charged
    assert _cycle == 0  # one active list per provider checks every live activation at once
    assert not Activation.objects.filter(state="active", synced_at__isnull=True).exists()
    wallet = wallet_of(customer)
    assert wallet.balance == Decimal("20000.00") - 20 * PRICE


def test_active_list_over_one_mebibyte_is_read(customer_with_key):
    customer, _ = customer_with_key(balance="6000.00")
    with FakeSmsActivate(api_key="k") as fake:
        provider = upstream(1, fake)
        rows = make_live(customer, provider, fake, 5000, synced_ago=None)
        fake.deliver_sms(rows[-1].upstream_id, "424242")
        client = client_for(provider)
        with pytest.raises(BadResponse):  # the plain 1 MiB cap: what broke the whole sync
            client.active_activations()
        assert len(client.active_activations(expected=5000)) == 5000
        assert provider_sync_statuses(provider_id=provider.pk) == 5000
    rows[-1].refresh_from_db()
    assert (rows[-1].state, rows[-1].code) == (Activation.State.CODE_RECEIVED, "424242")


def test_reconciliation_reads_an_active_list_over_one_mebibyte(customer_with_key):
    customer, _ = customer_with_key(balance="6000.00")
    with FakeSmsActivate(api_key="k") as fake:
        provider = upstream(1, fake)
        make_live(customer, provider, fake, 5000, synced_ago=None)
        (orphan,) = fake.add_live(1, service="tg", country=22, cost=COST)  # sold to an order that timed out
        unknown = make_live(customer, provider, fake, 1, synced_ago=None)[0]
        Activation.objects.filter(pk=unknown.pk).update(state="unknown", upstream_pending="reconcile", upstream_id="")
        report = provider_reconcile(provider_id=provider.pk)
        assert report["orphans"] == 2 and report["waiting"] == 2  # the list was read; 5,000 owned ones skipped
        assert all(a.status == "waiting" for a in fake.activations.values())
    Activation.objects.filter(pk=unknown.pk).update(
        state="active", upstream_pending="", upstream_id=unknown.upstream_id
    )


def test_list_body_limit_scales_with_the_live_count(customer_with_key):
    provider = provider_add(slot=1, protocol="smsactivate", url="http://127.0.0.1:9/", api_key="k")
    assert http.list_body_limit(provider, None) == http.MAX_BODY_BYTES
    assert http.list_body_limit(provider, 10) == http.MAX_BODY_BYTES  # floor
    assert http.list_body_limit(provider, 10_000) == 10_000 * http.LIST_BYTES_PER_ENTRY
    assert http.list_body_limit(provider, 10**7) == http.LIST_MAX_BODY_BYTES  # ceiling
    provider.config = {"list_max_bytes": 200 * 1024 * 1024}  # the operator knows better
    assert http.list_body_limit(provider, 10) == 200 * 1024 * 1024


def test_without_active_list_every_live_order_is_checked_within_ceil_live_over_limit_cycles(customer_with_key):
    """A protocol without an active list asks one by one: the never-checked first, then the
    longest unchecked, so 25 live rows with a batch of 10 are all checked within 3 cycles."""
    customer, _ = customer_with_key(balance="100.00")
    with FakeSmsActivateCompat(api_key="k") as fake:
        fake.set_offer(22, "tg", str(COST), 100)
        provider = provider_add(slot=1, protocol="smsactivate-compat", url=fake.url, api_key="k", currency="PKR")
        Country.objects.get_or_create(id=22, defaults={"name": "India"})
        Service.objects.get_or_create(code="tg", defaults={"name": "Telegram"})
        old = make_live(customer, provider, fake, 20, synced_ago=10)
        new = make_live(customer, provider, fake, 5, synced_ago=None)
        fake.deliver_sms(new[-1].upstream_id, "111111")
        fake.deliver_sms(old[-1].upstream_id, "222222")

        assert provider_sync_statuses(provider_id=provider.pk, limit=10) == 10
        new[-1].refresh_from_db()
        assert new[-1].state == Activation.State.CODE_RECEIVED  # never checked: in the first batch
        for _ in range(2):
            provider_sync_statuses(provider_id=provider.pk, limit=10)
    old[-1].refresh_from_db()
    assert old[-1].state == Activation.State.CODE_RECEIVED
    assert not Activation.objects.filter(synced_at__isnull=True).exists()
