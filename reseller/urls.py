from django.conf import settings
from django.contrib import admin
from django.urls import path

from reseller import health, metrics, webhooks
from reseller.protocol import endpoints
from reseller.protocol.views import endpoint_view

urlpatterns = [
    path("stubs/handler_api.php", endpoint_view(endpoints.HANDLER_API), name="handler_api"),
    path("stubs/cheap_handler.php", endpoint_view(endpoints.CHEAP_HANDLER), name="cheap_handler"),
    path("stubs/rental-handler.php", endpoint_view(endpoints.RENTAL_HANDLER), name="rental_handler"),
    path("stubs/email_handler.php", endpoint_view(endpoints.EMAIL_HANDLER), name="email_handler"),
    path("upstream/webhook/<int:provider_id>/<str:secret>", webhooks.upstream_webhook, name="upstream_webhook"),
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path(settings.METRICS_PATH.lstrip("/"), metrics.metrics_view, name="metrics"),
]

if settings.BENCH_VIEWS:
    from reseller import bench_views

    urlpatterns.append(path("bench/bare", bench_views.bare, name="bench_bare"))
