"""What upstream tells billing's markup rules about providers and services (billing knows only ids).

`RuleTargetNames` is the `billing.pricing.TargetNames` source, registered when the app is ready
(`upstream/apps.py`): a rule's label reads `provider slot 2`, `service wa`. `rule_targets` turns
what an operator types (a slot, a country number, a service code) into the ids billing stores.
"""

from django.db.models import OuterRef, Subquery

from upstream.models import Country, Provider, Service


class RuleTargetNames:
    """A provider's slot and a service's code, for billing.pricing (one query with the rules)."""

    def annotations(self) -> dict:
        from billing.pricing import PROVIDER_NAME, SERVICE_NAME

        return {
            PROVIDER_NAME: Subquery(Provider.objects.filter(pk=OuterRef("provider_id")).values("slot")[:1]),
            SERVICE_NAME: Subquery(Service.objects.filter(pk=OuterRef("service_id")).values("code")[:1]),
        }

    def names(self, *, provider_id: int | None, service_id: int | None) -> tuple[int | None, str | None]:
        slot = Provider.objects.filter(pk=provider_id).values_list("slot", flat=True).first() if provider_id else None
        code = Service.objects.filter(pk=service_id).values_list("code", flat=True).first() if service_id else None
        return slot, code


class UnknownTarget(ValueError):
    """No provider in that slot, no such country number or service code (the message says which)."""


def rule_targets(*, provider: int | None, country: int | None, service: str | None) -> dict[str, int | None]:
    """{"provider_id", "country_id", "service_id"} of a provider slot, an SMS-Activate country number
    and a service code (None: not named). Raises UnknownTarget."""
    ids: dict[str, int | None] = {"provider_id": None, "country_id": None, "service_id": None}
    if provider is not None:
        found = Provider.objects.filter(slot=provider).values_list("pk", flat=True).first()
        if found is None:
            raise UnknownTarget(f"no provider in slot {provider}")
        ids["provider_id"] = found
    if country is not None:
        if not Country.objects.filter(pk=country).exists():
            raise UnknownTarget(f"no country with number {country} (SMS-Activate numbering, e.g. 22 India)")
        ids["country_id"] = country
    if service is not None:
        found = Service.objects.filter(code=service).values_list("pk", flat=True).first()
        if found is None:
            raise UnknownTarget(f"no service with code {service!r} (SMS-Activate short code, e.g. wa)")
        ids["service_id"] = found
    return ids
