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
#
# Two stages: the first builds Portico's wheel from the sources, the second installs that wheel like
# any package. Only app/ and its migrations (alembic/, shipped inside the wheel as app/_migrations)
# reach the image: no sources, no tests, no GESDENT sandbox (gesdent_sandbox/ is a development tool).
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY alembic/ alembic/
COPY app/ app/
RUN pip wheel --no-deps --wheel-dir /wheels .


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
    && rm /tmp/requirements.txt pyproject.toml constraints.txt

# Then Portico itself, from the wheel of the first stage, into site-packages (pip compiles it). The
# checks: the migrations are inside the package, and the sandbox is not in the image.
COPY --from=build /wheels/ /tmp/wheels/
RUN pip install --no-deps /tmp/wheels/portico-*.whl \
    && rm -r /tmp/wheels \
    && python -c 'from app.db.migrate import migrations_directory as m; \
assert "site-packages" in str(m()) and (m() / "env.py").is_file(), m(); \
import importlib.util; assert importlib.util.find_spec("gesdent_sandbox") is None'

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
