from django.apps import AppConfig


class UpstreamConfig(AppConfig):
    name = "upstream"

    def ready(self) -> None:
        # billing's markup rules know providers and services by id; their labels get slots and codes here.
        from billing.pricing import register_target_names
        from upstream.markup import RuleTargetNames

        register_target_names(RuleTargetNames())
