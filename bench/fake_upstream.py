#!/usr/bin/env python
"""Fake SMS-Activate upstreams (tests/fakes) in a process of their own, for the benchmarks: the
CPU they burn is neither the benchmark driver's nor gunicorn's, and shows apart in `top`.

    python bench/fake_upstream.py SPEC [SPEC ...]     SPEC: service:country:cost:latency_seconds

Starts one fake per SPEC, each selling that one offer (stock of ten million) and answering
getNumber/getNumberV2 after its latency; prints one line of JSON, the list of their URLs, then
reads commands from standard input, one a line, each answered with one line of JSON:
`calls` (per fake: how many requests of each action it had), `clear` (forget them), `quit`.
"""

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.fakes.sms_activate import FakeSmsActivate  # noqa: E402

API_KEY = "bench"


def main() -> None:
    fakes = []
    for spec in sys.argv[1:]:
        service, country, cost, latency = spec.split(":")
        fake = FakeSmsActivate(api_key=API_KEY, balance="1000000000").start()
        fake.set_offer(int(country), service, cost, 10_000_000)
        fake.delay(float(latency), actions=["getNumber", "getNumberV2"])
        fakes.append(fake)
    print(json.dumps([f.url for f in fakes]), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "calls":
            print(json.dumps([dict(Counter(f.actions())) for f in fakes]), flush=True)
        elif command == "clear":
            for f in fakes:
                f.clear_calls()
            print("{}", flush=True)
        elif command == "quit":
            break
    for f in fakes:
        f.stop()


if __name__ == "__main__":
    main()
