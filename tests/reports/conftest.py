import pytest

from tests.reports.history import build


@pytest.fixture
def history(db, monkeypatch):
    return build(monkeypatch)
