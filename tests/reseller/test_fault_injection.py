"""Fault injection: many orders over several upstreams that randomly time out, fail,
answer garbage, run out of numbers or change their price; customers finish, retry,
cancel or walk away. Afterwards every order is terminal, every balance is exactly
what the outcomes imply, and the ledger verifies."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Hold
from billing.verify import ledger_verify
from reseller.activations.lifecycle import activations_expire_due
from reseller.activations.reconcile import provider_reconcile
from reseller.activations.sync import activation_forward_upstream, provider_sync_statuses
from reseller.models import Activation
from tests.reseller.conftest import balance_of, deliver_sms
from upstream.models import Provider, SandboxActivation
from upstream.services import catalogue_sync, provider_add

pytestmark = pytest.mark.django_db

FAULTS = ["", "", "", "error", "timeout", "garbage", "no_numbers", "unavailable"]
ORDERS = 120


@pytest.mark.parametrize("seed", [7, 2026])
def test_random_faults_leave_every_order_terminal_and_every_balance_exact(seed, api, customer_with_key):
    rng = random.Random(seed)
    providers = [
        provider_add(
            slot=slot,
            protocol="sandbox",
            url="",
            api_key="",
            name=f"chaos {slot}",
            config={"sms_delay_seconds": 3600, "prices": {"22": {"tg": {"cost": cost, "count": 10**6}}}},
        )
        for slot, cost in ((1, "40.00"), (2, "45.00"), (3, "50.00"))
    ]
    for provider in providers:
        catalogue_sync(provider=provider)
    customers = [customer_with_key(balance="2000.00") for _ in range(4)]
    replies: dict[str, int] = {}

    for _ in range(ORDERS):
        for provider in providers:  # every order meets a different weather
            price = rng.choice(["40.00", "45.00", "50.00", "90.00"])
            Provider.objects.filter(pk=provider.pk).update(
                config={
                    "sms_delay_seconds": 3600,
                    "fail": rng.choice(FAULTS),
                    "ignore_max_price": rng.random() < 0.3,
                    "prices": {"22": {"tg": {"cost": price, "count": 10**6}}},
                }
            )
        _, key = rng.choice(customers)
        reply = api(
            key,
            "getNumber",
            service="tg",
            country="22",
            **({"type": str(rng.randint(1, 3))} if rng.random() < 0.2 else {}),
        )
        replies[reply.split(":")[0]] = replies.get(reply.split(":")[0], 0) + 1
        if not reply.startswith("ACCESS_NUMBER:"):
            continue
        activation = Activation.objects.get(pk=int(reply.split(":")[1]))
        fate = rng.random()
        if fate < 0.4:
            deliver_sms(activation)
            if rng.random() < 0.3:
                api(key, "setStatus", id=activation.pk, status="3")
                if rng.random() < 0.5:
                    deliver_sms(activation)
            api(key, "setStatus", id=activation.pk, status=rng.choice(["6", "6", "8"]))
        elif fate < 0.6:
            past = timezone.now() - timedelta(seconds=200)
            Activation.objects.filter(pk=activation.pk).update(activated_at=past, created_at=past)
            api(key, "setStatus", id=activation.pk, status=rng.choice(["8", "-1"]))
        # else: the customer walks away; expiry settles it

    assert replies.get("ACCESS_NUMBER", 0) > 20 and len(replies) > 2, replies  # the weather really varied

    # Calm returns; time passes beyond every lifetime; the sweepers run.
    Provider.objects.update(config={"sms_delay_seconds": 3600})
    Activation.objects.update(
        created_at=timezone.now() - timedelta(hours=1), expires_at=timezone.now() - timedelta(minutes=30)
    )
    for provider in providers:
        provider_sync_statuses(provider_id=provider.pk)
    activations_expire_due()
    for activation_id in Activation.objects.exclude(upstream_pending__in=["", "reconcile"]).values_list(
        "pk", flat=True
    ):
        activation_forward_upstream(activation_id=activation_id)
    for provider in providers:
        provider_reconcile(provider_id=provider.pk)

    # Every order is terminal, nothing is left to do, no upstream number is left live.
    assert not Activation.objects.filter(state__in=Activation.LIVE_STATES).exists()
    assert not Activation.objects.exclude(upstream_pending="").exists()
    assert not Hold.objects.filter(status=Hold.Status.OPEN).exists()
    assert not SandboxActivation.objects.filter(status__in=["waiting", "code", "wait_retry"]).exists()
    # Every balance is exactly what the outcomes imply: charged once for each order that got its SMS.
    for customer, _ in customers:
        charged = sum(
            (a.price for a in Activation.objects.filter(customer=customer, sms_at__isnull=False)), Decimal("0.00")
        )
        assert balance_of(customer) == Decimal("2000.00") - charged
    report = ledger_verify()
    assert report.ok, report.render()
