# One image; the command chooses the role: web (gunicorn), worker-urgent + worker-bulk + worker-webhooks (or one
# `worker` for every queue), beat, migrate, or any manage.py command. Every role needs the same
# environment, e.g. CELERY_BROKER_URL=amqp://user:pass@rabbitmq:5672/vhost (RabbitMQ) and
# REDIS_URL=redis://redis:6379/1 (cache). See docs/operations.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=reseller.settings \
    EMBEDDED=0

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN EMBEDDED=1 DATABASE_URL=sqlite:////tmp/build.sqlite3 python manage.py collectstatic --noinput -v 0 \
    && rm -f /tmp/build.sqlite3 \
    && useradd --system --uid 10001 app \
    && mkdir -p var && chown app var \
    && chmod +x docker-entrypoint.sh
USER app
EXPOSE 8000 9808
ENTRYPOINT ["./docker-entrypoint.sh"]
CMD ["web"]
