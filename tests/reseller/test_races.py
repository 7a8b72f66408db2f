"""One activation, many concurrent actors, real threads on PostgreSQL: it resolves exactly once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Hold, Transfer
from billing.verify import ledger_verify
from reseller.activations.lifecycle import Change, activation_apply_upstream, activation_cancel, activation_expire
from reseller.activations.purchase import PurchaseRequest, activation_purchase
from reseller.models import Activation
from tests.billing.test_races import run_concurrently
from tests.reseller.conftest import balance_of
from upstream.models import Country, Service
from upstream.providers.base import StatusResult, UpstreamState

pytestmark = pytest.mark.django_db(transaction=True)


def bought(customer, sandbox) -> Activation:
    from billing.selectors import wallet_of

    activation = activation_purchase(
        PurchaseRequest(
            customer_id=customer.pk,
            wallet_id=wallet_of(customer).pk,
            service=Service.objects.get(code="tg"),
            country=Country.objects.get(pk=22),
        )
    )
    # Past the cancel grace and the lifetime: cancels, the sweeper and an SMS are all allowed.
    past = timezone.now() - timedelta(seconds=1300)
    Activation.objects.filter(pk=activation.pk).update(
        activated_at=past, created_at=past, expires_at=past + timedelta(seconds=1200)
    )
    activation.refresh_from_db()
    return activation


@pytest.mark.parametrize("round_", range(3))
def test_cancels_sms_and_sweeper_race_resolves_once(sandbox, customer_with_key, round_):
    customer, _ = customer_with_key(balance="500.00")
    a = bought(customer, sandbox)

    def actor(i):
        fresh = Activation.objects.select_related("provider", "service").get(pk=a.pk)
        if i < 10:
            try:
                return ("cancel", activation_cancel(activation=fresh))
            except Exception as exc:  # noqa: BLE001
                return ("cancel", type(exc).__name__)
        if i == 10:
            activation_apply_upstream(
                activation=fresh, result=StatusResult(state=UpstreamState.CODE, code="123456", text="code 123456")
            )
            return ("sms", None)
        return ("sweep", activation_expire(activation=fresh))

    results = run_concurrently(12, actor)
    assert not [r for r in results if isinstance(r, Exception)], results

    a.refresh_from_db()
    hold = Hold.objects.get(pk=a.hold_id)
    cancels_won = [r for r in results if r == ("cancel", Change.CANCELLED)]
    if a.state == "finished":  # the SMS came first: charged once, whatever else happened
        assert hold.status == "captured"
        assert Transfer.objects.filter(kind="capture").count() == 1
        assert balance_of(customer) == Decimal("500.00") - a.price
    else:  # a cancel or the sweeper came first: refunded once, the SMS is our loss
        assert a.state in ("cancelled", "expired")
        assert hold.status == "released"
        assert balance_of(customer) == Decimal("500.00")
        assert not Transfer.objects.filter(kind="capture").exists()
        assert len(cancels_won) <= 1
    assert Transfer.objects.filter(kind="upstream_cost").count() <= 1
    assert Transfer.objects.filter(kind="loss").count() <= 1
    report = ledger_verify()
    assert report.ok, report.render()
