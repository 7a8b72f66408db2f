"""Django's PostgreSQL backend, with a pool that heals at once after a blip.

`DATABASES["default"]["ENGINE"] = "reseller.dbengine"` (set by settings.py for PostgreSQL).
Only the psycopg pool mode (`DB_POOL_MAX_SIZE`) differs from Django's backend:

psycopg_pool's own `check` (what Django installs with CONN_HEALTH_CHECKS) sleeps
between failed checks with its reconnection backoff (0 s, 1 s, 2 s, ...), so after
a restart of PostgreSQL a pool holding four dead idle connections made the first
request wait past the pool timeout and answer ERROR_SQL. Here a connection is
checked as it leaves the pool (one empty query, as psycopg_pool does); when the
check fails, every other idle connection is checked at once (`pool.check()`:
the dead ones are replaced in the background) and the request takes a connection
again, without sleeping.
"""

import logging

from django.db.backends.postgresql import base
from psycopg import Error as PsycopgError
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)
ATTEMPTS = 3  # connections taken from the pool per request at most


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        if not self.pool:
            return super().get_new_connection(conn_params)
        for attempt in range(ATTEMPTS - 1):
            connection = super().get_new_connection(conn_params)
            try:
                ConnectionPool.check_connection(connection)
            except PsycopgError as exc:
                log.info("discarding a dead pooled connection: %s", " ".join(str(exc).split()))
                self.pool.putconn(connection)  # broken: the pool replaces it in the background
                if attempt == 0:
                    self.pool.check()  # the server went away: the other idle ones are dead too
                continue
            return connection
        return super().get_new_connection(conn_params)  # fresh by now, or the pool's timeout decides
