# The image of the web app, its task worker and the analytics scheduler (docker-compose.yml).
# Tesseract reads scanned PDF pages (OCR); Apache Tika runs beside it as its own service.
FROM python:3.11-slim
RUN apt-get update && \
    apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng && \
    rm -rf /var/lib/apt/lists/*
# Static files live in the image, outside DATA_DIR: a volume mounted there must not hide
# (or, after an upgrade, keep serving the old) stylesheets and scripts.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DATA_DIR=/data STATIC_ROOT=/app/static
WORKDIR /app
# Everything but what .dockerignore leaves out (the tests, benchmarks, local data, secrets).
COPY . .
RUN pip install --no-cache-dir . && \
    PRODUCTION=true SECRET_KEY=build-only python manage.py collectstatic --noinput
EXPOSE 8000
# The same server docker-compose.yml runs (three sync workers, a 60 s timeout).
CMD ["gunicorn", "enablement.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60"]
