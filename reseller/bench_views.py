"""Reference view for bench/: one primary-key lookup, served like the API. Mounted only with BENCH_VIEWS=1."""

from django.http import HttpResponse

from accounts.models import Customer


def bare(request):
    pk = Customer.objects.filter(pk=request.GET.get("id", "1")).values_list("pk", flat=True).first()
    return HttpResponse(f"ID:{pk}".encode(), content_type="text/html; charset=UTF-8")
