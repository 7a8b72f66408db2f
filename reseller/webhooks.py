"""Upstream webhooks (SMS-Activate POSTs {activationId, service, text, code, country,
receivedAt} when an SMS arrives): one URL per provider, with a secret in it.

A webhook is only a hint: it triggers an immediate status check of that activation
at the upstream, and what the upstream then says is applied. The code in the body is
never trusted, so a forged webhook cannot deliver a fake code.
"""

import hmac
import json
import logging

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt

from reseller.activations.enqueue import after_commit, queued_key
from reseller.models import Activation
from upstream.models import Provider

log = logging.getLogger(__name__)
CHECKED_STATES = (
    Activation.State.ACTIVE,
    Activation.State.WAITING_RETRY,
    Activation.State.CANCELLED,
    Activation.State.EXPIRED,
)


def _activation_id(request: HttpRequest) -> str | None:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = {}
    value = body.get("activationId") if isinstance(body, dict) else None
    if value is None:
        value = request.POST.get("activationId")
    return str(value) if isinstance(value, int | str) and str(value).isdigit() else None


@csrf_exempt
def upstream_webhook(request: HttpRequest, provider_id: int, secret: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    provider = Provider.objects.filter(pk=provider_id).only("pk", "webhook_secret").first()
    if (
        provider is None
        or not provider.webhook_secret
        or not hmac.compare_digest(provider.webhook_secret.encode(), secret.encode())
    ):
        return HttpResponseNotFound(b"not found", content_type="text/plain")
    upstream_id = _activation_id(request)
    activation = (
        Activation.objects.filter(provider_id=provider.pk, upstream_id=upstream_id, state__in=CHECKED_STATES)
        .values_list("pk", flat=True)
        .first()
        if upstream_id
        else None
    )
    if activation is not None:
        from reseller.tasks import CHECK_QUEUED_TTL, check_activation

        # Repeated hints while a check is queued send no second one.
        after_commit(check_activation, activation, once=(queued_key("check", activation), CHECK_QUEUED_TTL))
    else:
        log.info("webhook from provider %s for unknown activation %r", provider.pk, upstream_id)
    return HttpResponse(b"OK", content_type="text/plain")  # acknowledged: the upstream stops retrying
