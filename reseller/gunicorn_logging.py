"""gunicorn's logger with every API key masked (gunicorn.conf.py `logger_class`).

gunicorn logs request lines itself, before Django runs: the access log (`%(r)s`, the
referer) and its warnings about requests it refuses ("Invalid request from ip=...:
Invalid HTTP request line: 'GET /stubs/handler_api.php?api_key=...'"). Both of its
loggers get the filter that masks `api_key=...` (accounts/redaction.py).
"""

from gunicorn.glogging import Logger

from accounts.redaction import RedactApiKeyFilter


class MaskingLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)  # also on every reopen (SIGUSR1) and reload: the filter is added once
        for logger in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactApiKeyFilter) for f in logger.filters):
                logger.addFilter(RedactApiKeyFilter())
