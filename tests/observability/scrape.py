"""Reading the metrics path as Prometheus does: the text parsed by prometheus_client's own parser."""

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-test-token-5d1f0c8a9b"


def parse(text: str) -> dict:
    """{family name: family} of an exposition."""
    return {family.name: family for family in text_string_to_metric_families(text)}


def scrape(client, token: str = TOKEN, path: str = "/metrics") -> dict:
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(response.content.decode())


def samples(families: dict, name: str) -> list:
    """Every sample called `name` (a family's name plus _total, _count, _bucket... or itself)."""
    return [s for family in families.values() for s in family.samples if s.name == name]


def value(families: dict, name: str, **labels) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 when none)."""
    return sum(s.value for s in samples(families, name) if all(s.labels.get(k) == v for k, v in labels.items()))


def delta(before: dict, after: dict, name: str, **labels) -> float:
    return value(after, name, **labels) - value(before, name, **labels)
