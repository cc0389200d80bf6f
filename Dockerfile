FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DATA_DIR=/data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY enablement enablement
COPY cms cms
COPY search search
COPY analytics analytics
COPY templates templates
COPY manage.py ./
RUN pip install --no-cache-dir -e . && \
    SECRET_KEY=build-only python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "enablement.wsgi:application", "--bind", "0.0.0.0:8000"]
