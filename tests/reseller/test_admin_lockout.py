"""Admin login lockout (issue 7, django-axes): 5 failures of one username from one IP lock
that combination out for the cool-off (15 minutes), whatever password comes next."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Customer

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"


@pytest.fixture
def admin_user():
    return Customer.objects.create_superuser("root", "root@example.com", "right-password")


def login(client, password, ip="127.0.0.1", username="root"):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip)


def logged_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def test_100_wrong_passwords_then_the_right_one_is_refused(client, admin_user, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    replies = [login(client, f"wrong-{n}").status_code for n in range(100)]
    assert replies[:4] == [200] * 4  # the login form again, with its error
    assert set(replies[4:]) == {429}  # the 5th failure locks out
    response = login(client, "right-password")
    assert response.status_code == 429 and b"too many login attempts" in response.content.lower()
    assert not logged_in(client)


def test_the_lockout_is_per_username_and_ip(client, admin_user):
    for n in range(5):
        login(client, f"wrong-{n}")
    assert login(client, "right-password").status_code == 429
    # The real admin elsewhere is not locked out by someone guessing.
    assert login(client, "right-password", ip="127.0.0.2").status_code == 302
    assert logged_in(client)


def test_the_lockout_ends_after_the_cool_off(client, admin_user):
    from axes.models import AccessAttempt

    for n in range(5):
        login(client, f"wrong-{n}")
    assert login(client, "right-password").status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=14))
    assert login(client, "right-password").status_code == 429  # still inside the 15 minutes
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert login(client, "right-password").status_code == 302
    assert logged_in(client)


def test_axes_reset_lifts_the_lockout(client, admin_user):
    for n in range(5):
        login(client, f"wrong-{n}")
    assert login(client, "right-password").status_code == 429
    call_command("axes_reset")
    assert login(client, "right-password").status_code == 302


def test_a_success_clears_earlier_failures(client, admin_user):
    for n in range(4):
        login(client, f"wrong-{n}")
    assert login(client, "right-password").status_code == 302
    client.logout()
    for n in range(4):
        assert login(client, f"again-{n}").status_code == 200  # counting starts afresh
    assert login(client, "right-password").status_code == 302
