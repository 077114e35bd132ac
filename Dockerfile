# One image for web instances and workers. Untested here (no Docker engine on the dev machines).
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY microblog ./microblog
RUN pip install --no-cache-dir .
COPY . .
COPY --from=assets /src/node_modules/bootstrap/dist/css/bootstrap.min.css /src/node_modules/bootstrap/dist/js/bootstrap.bundle.min.js /src/node_modules/socket.io-client/dist/socket.io.esm.min.js ./static/vendor/
RUN pybabel compile -d translations
RUN useradd --system microblog && mkdir -p instance && chown microblog instance
USER microblog
EXPOSE 5000
CMD ["microblog", "serve", "--bind", "0.0.0.0:5000"]
