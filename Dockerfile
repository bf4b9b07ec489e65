# SIGMAX image for the Ray head and workers (docker-compose.yml).

# The web dashboard, built in its own stage: Node stays out of the runtime image.
FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/index.html web/vite.config.js ./
COPY web/src ./src
RUN npm run build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    SIGMAX_HOME=/var/lib/sigmax \
    SIGMAX_WEB_DIST=/app/web/dist

RUN useradd --create-home --uid 1000 sigmax \
    && mkdir -p /var/lib/sigmax /tmp/ray \
    && chown sigmax:sigmax /var/lib/sigmax /tmp/ray

WORKDIR /app
COPY pyproject.toml README.md NOTICE ./
COPY sigmax ./sigmax
COPY actors ./actors
COPY serve_app ./serve_app
COPY cluster ./cluster
RUN pip install .
COPY --from=web /web/dist ./web/dist

USER sigmax
EXPOSE 6390 8000 8080 8265
CMD ["ray", "start", "--head", "--port=6390", "--dashboard-host=0.0.0.0", "--block"]
