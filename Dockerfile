# Portico in a container, on SQLite kept in the /data volume.
#
#   docker build -t portico .
#   docker run --name portico -p 8000:8000 -v portico-data:/data portico
#   docker exec portico portico show-master-key   # the master key generated on the first start
#
# The keys are stored beside the database (/data/portico.db.master.key and .secret.key, mode 0600);
# the log says where, never the keys. Request heads are limited (PORTICO_MAX_HEADER_BYTES,
# PORTICO_MAX_HEADERS) by `portico serve` itself. Behind a reverse proxy, pass
# -e PORTICO_TRUSTED_PROXIES=<its address> (and -e PORTICO_PUBLIC_URL=https://… for absolute links).
# For PostgreSQL, pass -e PORTICO_DATABASE_URL=postgresql+asyncpg://user:password@host/db
# and -e PORTICO_MASTER_KEY=<at least 24 characters>. Every setting is a PORTICO_* variable (README.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/portico

# Dependencies first, pinned by constraints.txt, in their own layer: it is reused while only the code changes.
COPY pyproject.toml constraints.txt ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The package itself, installed in place (-e). app/db/migrate.py finds alembic.ini and alembic/ two
# directories above its own file. A regular install would put app/ in site-packages, where that directory
# is site-packages and its `alembic/` is the Alembic library, so migrations would not be found. Installed in
# place, app/ stays in /srv/portico next to alembic/ and alembic.ini, and start-up migrations run.
COPY README.md alembic.ini ./
COPY alembic/ alembic/
COPY app/ app/
RUN pip install --no-deps -c constraints.txt -e . \
    && python -m compileall -q app alembic \
    && python -c 'from app.db.migrate import alembic_config; from pathlib import Path; \
assert Path(alembic_config().get_main_option("script_location"), "env.py").is_file(), "alembic/ not found"'

# Run as an unprivileged user; the SQLite file and its master key live in the writable /data volume.
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin portico \
    && mkdir /data \
    && chown portico:portico /data
ENV PORTICO_DATABASE_URL=sqlite+aiosqlite:////data/portico.db
VOLUME ["/data"]
USER portico

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c 'import os, urllib.request; urllib.request.urlopen("http://127.0.0.1:%s/readyz" % os.environ.get("PORTICO_PORT", "8000"), timeout=4)'
CMD ["portico", "serve", "--host", "0.0.0.0"]
