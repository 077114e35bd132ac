# syntax=docker/dockerfile:1
# One image for the web instances, the workers and the migration step (docker-compose.yml).

# Front-end libraries from the npm registry, copied exactly as `make install` does (the
# Makefile's $(VENDOR)/.stamp rule; tests/test_cluster.py checks that the two agree).
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
RUN mkdir -p static/vendor \
 && cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/css/bootstrap.min.css.map static/vendor/ \
 && cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js node_modules/bootstrap/dist/js/bootstrap.bundle.min.js.map static/vendor/ \
 && cp node_modules/socket.io-client/dist/socket.io.esm.min.js node_modules/socket.io-client/dist/socket.io.esm.min.js.map static/vendor/ \
 && cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui-bundle.js.map static/vendor/ \
 && cp node_modules/swagger-ui-dist/swagger-ui.css node_modules/swagger-ui-dist/swagger-ui.css.map static/vendor/ \
 && mkdir -p static/vendor/icons \
 && cp node_modules/bootstrap-icons/icons/chat.svg node_modules/bootstrap-icons/icons/arrow-repeat.svg node_modules/bootstrap-icons/icons/heart.svg node_modules/bootstrap-icons/icons/heart-fill.svg node_modules/bootstrap-icons/icons/box-arrow-up.svg node_modules/bootstrap-icons/icons/three-dots.svg node_modules/bootstrap-icons/icons/search.svg node_modules/bootstrap-icons/icons/envelope.svg node_modules/bootstrap-icons/icons/bell-fill.svg node_modules/bootstrap-icons/icons/clock.svg static/vendor/icons/

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# The dependencies first, in a layer that survives code changes: an editable install of an
# empty package pulls them in. Editable, because the app finds templates/, static/,
# migrations/ and translations/ next to its package (microblog.settings.ROOT): in /app.
COPY pyproject.toml README.md ./
RUN mkdir microblog && touch microblog/__init__.py && pip install -e .

COPY microblog ./microblog
COPY asgi.py babel.cfg ./
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
COPY translations ./translations
RUN pybabel compile -d translations
COPY --from=assets /src/static/vendor ./static/vendor

# instance/ holds exports (shared by the workers that write them and the instances that
# serve them: a volume in docker-compose.yml); nothing else is writable by the app
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin microblog \
 && mkdir -p instance && chown microblog:microblog instance
USER microblog

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["microblog", "serve", "--bind", "0.0.0.0:8000"]
