# creditscore image: build wheels in one stage, run as a non-root user in a slim final stage.
FROM python:3.11.7-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY requirements.txt .
RUN python -m venv /opt/venv && /opt/venv/bin/pip install -r requirements.txt

FROM python:3.11.7-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_DEBUG=false STATIC_ROOT=/app/var/staticfiles MEDIA_ROOT=/data/media ARTIFACT_ROOT=/data/artifacts
# Pango, HarfBuzz's subsetter and a font: WeasyPrint makes the adverse-action notices' PDF with them.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system app && useradd --system --gid app --home /app app \
    && mkdir -p /data/media /data/artifacts /app/var && chown -R app:app /data /app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=app:app . .
USER app
EXPOSE 8000
# gunicorn.conf.py: bind, workers (WEB_CONCURRENCY) and Prometheus multiprocess hooks.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "creditscore.wsgi"]
