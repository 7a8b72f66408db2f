#!/usr/bin/env python
"""The cost of one log line (docs/logging.md): a request line with a key, written through the
settings' handler (masking and request-context filters) in JSON and in text, next to the same
line through the bare formatters (python-json-logger's, logging's) with no masking. In-process,
into memory; prints microseconds per line.

    .venv/bin/python bench/log_lines.py [LINES]
"""

import io
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pythonjsonlogger.json import JsonFormatter as BareJson  # noqa: E402

from observability.logs import JsonFormatter, TextFormatter, filters  # noqa: E402
from observability.request_id import request_id_var  # noqa: E402

LINE = "GET /stubs/handler_api.php?api_key=4aTmwvdQ2mX2w8QVPRc052yG0Ww2a23d&action=getStatus&id=123 HTTP/1.1"


def per_line(formatter: logging.Formatter, masked: bool, lines: int) -> float:
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(formatter)
    if masked:
        for f in filters():
            handler.addFilter(f)
    log = logging.getLogger("bench.log_lines")
    log.handlers, log.propagate = [handler], False
    log.setLevel(logging.INFO)
    started = time.perf_counter()
    for _ in range(lines):
        log.info('"%s" %s %s', LINE, 200, 19)
    return (time.perf_counter() - started) / lines * 1e6


def main() -> None:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    request_id_var.set("0123456789abcdef0123456789abcdef")
    cases = [
        ("json, masked (LOG_FORMAT=json)", JsonFormatter(), True),
        ("text, masked (LOG_FORMAT=text)", TextFormatter(), True),
        ("bare python-json-logger, no masking", BareJson(), False),
        ("bare logging.Formatter, no masking", logging.Formatter("%(asctime)s %(levelname)s %(message)s"), False),
    ]
    for name, formatter, masked in cases:
        print(f"{name:40s} {per_line(formatter, masked, lines):7.1f} us/line")


if __name__ == "__main__":
    main()
