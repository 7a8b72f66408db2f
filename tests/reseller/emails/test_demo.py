"""The embedded demo's e-mails: both e-mail servers on the sandbox, and its printed curl lines
work end to end (a letter with a code arrives through the letter sync)."""

import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from reseller.models import EmailOrder, EmailServer
from tests.reseller.cheap.test_commands import demo
from tests.reseller.emails.support import deliver

pytestmark = pytest.mark.django_db


def test_demo_email_lines_buy_and_receive_a_letter(tmp_path, client):
    out = demo(tmp_path)
    assert sorted(EmailServer.objects.values_list("server", "provider__slot")) == [(1, 1), (2, 1)]
    lines = [line.strip() for line in out.splitlines() if "email_handler.php" in line]
    actions = [dict(parse_qsl(urlsplit(line.split('"')[1]).query))["action"] for line in lines]
    assert actions == ["getEmailServices", "buyEmail", "getEmailCode", "getEmailServices", "buyEmail"]

    def curl(line: str, email_id: str = "") -> dict:
        url = urlsplit(line.split('"')[1].replace("=ID", f"={email_id}"))
        response = client.get(url.path, dict(parse_qsl(url.query)))
        assert response.status_code == 200
        return json.loads(response.content)

    services = curl(lines[0])
    assert services["status"] == "200" and any(s["service_code"] == "ig" for s in services["services"])
    bought = curl(lines[1])
    assert bought["status"] == "200" and bought["email"].endswith("@gmail.com"), bought
    assert curl(lines[2], bought["email_id"]) == {"status": "202", "message": "Waiting for code..."}
    deliver(EmailOrder.objects.get(pk=int(bought["email_id"])))
    code = curl(lines[2], bought["email_id"])
    assert code["status"] == "200" and code["messages"][0]["code"].isdigit(), code
    assert curl(lines[3])["status"] == "200" and curl(lines[3])["domains"]
    other = curl(lines[4])
    assert other["status"] == "200" and other["server"] == 2 and other["email"].endswith("@mail.com"), other
