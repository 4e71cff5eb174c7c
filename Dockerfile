# Credence API image. Build: docker build -t credence .
# Serves on 0.0.0.0:8080 under gunicorn; with no API key in the database the service
# refuses non-loopback binds, so create one first (README, "Production").
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY scoring ./scoring
COPY service ./service
COPY config ./config
# Editable, so that the service finds config/ beside its packages, as in a checkout.
# With the `dask` extra: the same image runs the Dask scheduler and workers of
# docker-compose's `dask` profile, and `rescore --dask` as their client.
RUN pip install -e '.[dask]' \
    && useradd --system --uid 10001 --create-home --shell /usr/sbin/nologin credence \
    && mkdir -p /app/var \
    && chown credence /app/var

USER credence
ENV CREDENCE_DATABASE_URL=sqlite:////app/var/credence.db \
    CREDENCE_PORT=8080
VOLUME ["/app/var"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CREDENCE_PORT', '8080'), timeout=2)"]

# Migrations run before the server starts (idempotent). CREDENCE_WORKERS sets gunicorn's
# worker count (about 2 per core).
CMD ["sh", "-c", "credence migrate && exec credence serve --host 0.0.0.0 --workers \"${CREDENCE_WORKERS:-2}\""]
