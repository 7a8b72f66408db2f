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

from reseller.activations.sync import activation_check_soon
from upstream.models import Provider

log = logging.getLogger(__name__)


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
    if upstream_id is None or not activation_check_soon(provider_id=provider.pk, upstream_id=upstream_id):
        log.info("webhook from provider %s for unknown activation %r", provider.pk, upstream_id)
    return HttpResponse(b"OK", content_type="text/plain")  # acknowledged: the upstream stops retrying
