"""The project's URLs plus one view that fails the way an unexpected upstream error would: it logs
a warning (a breadcrumb) and raises, both texts holding keys (tests/observability/test_sentry.py)."""

import logging

from django.urls import path

from reseller.urls import urlpatterns as project_urlpatterns

UPSTREAM_KEY = "UpstreamSecretKey0123456789abcdef"


def boom(request):
    logging.getLogger("upstream.providers.http").warning(
        "slow answer from GET https://up.example/stubs/handler_api.php?api_key=%s&action=getNumber", UPSTREAM_KEY
    )
    raise RuntimeError(f"upstream said no: GET https://mail.example/api?token={UPSTREAM_KEY}&type=JSON")


urlpatterns = [*project_urlpatterns, path("tests/boom", boom)]
