# TeezU Live application image (every role; `teezu serve`).
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY teezu teezu
COPY engine engine
COPY ingest ingest
COPY hls hls
COPY api api
COPY workers workers
RUN pip install --no-cache-dir .
COPY web web
RUN cd web && npm ci --no-audit --no-fund
ENV TEEZU_HOST=0.0.0.0 TEEZU_LOG_FORMAT=json TEEZU_VAR_DIR=/var/lib/teezu
EXPOSE 8080
CMD ["teezu", "serve"]
