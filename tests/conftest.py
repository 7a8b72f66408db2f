import pytest
from django.db import connection

from billing.verify import ledger_verify
from tests.factories import CustomerFactory


def pytest_configure(config):
    config.addinivalue_line("markers", "ledger_dirty: the test corrupts the ledger on purpose; skip ledger_verify")


@pytest.fixture(autouse=True)
def _ledger_verified_after_test(request):
    """Every database test ends with a clean `ledger_verify` (design.md: money tests)."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or request.node.get_closest_marker("ledger_dirty"):
        yield
        return
    request.getfixturevalue("_django_db_helper")  # so our teardown runs before the database is reset
    assert connection.vendor == "postgresql", "the suite runs on PostgreSQL (see tests/settings.py)"
    yield
    report = ledger_verify()
    assert report.ok, report.render()


@pytest.fixture
def customer_with_key():
    """Factory fixture: make(balance="500.00", username=...) -> (customer, api_key)."""

    def make(balance: str | None = None, **kwargs):
        return CustomerFactory.create_with_key(balance=balance, **kwargs)

    return make
