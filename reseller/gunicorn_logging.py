"""gunicorn's logger: every secret masked, JSON lines when LOG_FORMAT=json (gunicorn.conf.py
`logger_class`; docs/logging.md).

gunicorn logs request lines itself, before and after Django runs: the access log (`%(r)s`, the
referer) and its warnings about requests it refuses ("Invalid request from ip=...: Invalid HTTP
request line: 'GET /stubs/handler_api.php?api_key=...'"). Both of its loggers get the masking and
request-context filters and, with LOG_FORMAT=json, the JSON formatter of the Django processes; an
access line then also carries the request's fields (`method`, `path`, `status`, `bytes`,
`duration_ms`, `remote_addr`, `referer`, `user_agent`) and the `request_id` the response was sent
with (`X-Request-ID`). gunicorn's master is outside Django: this module uses observability only.
"""

import os

from gunicorn.glogging import Logger

from observability import logs
from observability.masking import RedactApiKeyFilter, redact
from observability.request_id import RequestContextFilter, accepted


class MaskingLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)  # also on every reopen (SIGUSR1) and reload: the filters are added once
        # gunicorn.conf.py defaults EMBEDDED to 0: gunicorn is production, JSON unless told otherwise.
        self.log_format = logs.log_format(embedded=os.environ.get("EMBEDDED", "0") == "1")
        for logger in (self.error_log, self.access_log):
            for kind in (RedactApiKeyFilter, RequestContextFilter):
                if not any(isinstance(f, kind) for f in logger.filters):
                    logger.addFilter(kind())
            if self.log_format == "json":
                for handler in logger.handlers:
                    if getattr(handler, "_gunicorn", False):
                        handler.setFormatter(logs.JsonFormatter())

    def access(self, resp, req, environ, request_time):
        if self.log_format != "json":
            return super().access(resp, req, environ, request_time)
        if not self.access_log_enabled:
            return None
        atoms = self.atoms(resp, req, environ, request_time)
        safe_atoms = self.atoms_wrapper_class(atoms)
        try:
            line = self.cfg.access_log_format % safe_atoms
            status = atoms["s"]
            fields = {
                "remote_addr": atoms["h"],
                "method": atoms["m"],
                "path": redact(environ.get("RAW_URI") or atoms["U"] or ""),
                "status": int(status) if str(status).isdigit() else status,
                "bytes": atoms["B"],
                "duration_ms": round(request_time.total_seconds() * 1000, 3),
                "referer": redact(atoms["f"]),
                "user_agent": atoms["a"],
                "request_id": accepted(atoms.get("{x-request-id}o")),
            }
            self.access_log.info("%s", line, extra=fields)
        except Exception:  # noqa: BLE001 - as gunicorn's own access(): a broken line is an error line
            import traceback

            self.error(traceback.format_exc())
        return None
