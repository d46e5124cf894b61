# One image for every process: web (default), worker, beat and bot are chosen by the command.
#   docker run IMAGE                                   -> gunicorn web
#   docker run IMAGE celery -A dealscale worker -l INFO
#   docker run IMAGE celery -A dealscale beat -l INFO
#   docker run IMAGE python manage.py runbot
FROM python:3.12-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

RUN groupadd --system app && useradd --system --gid app --home-dir /app --shell /usr/sbin/nologin app

COPY --chown=app:app . .

# Static files are collected at build time and served by whitenoise; the key is only a build stub.
RUN DEBUG=false SECRET_KEY=collectstatic-only DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput

USER app
EXPOSE 8000

# The web process's liveness; sent with an allowed Host (Django refuses unknown ones with 400).
# Worker, beat and bot serve no HTTP: compose disables this check for them.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD python -c "import os, sys, urllib.request; host = os.environ.get('ALLOWED_HOSTS', 'localhost').split(',')[0].strip().lstrip('.'); host = 'localhost' if host in ('', '*') else host; req = urllib.request.Request('http://127.0.0.1:8000/health', headers={'Host': host, 'X-Forwarded-Proto': 'https'}); sys.exit(0 if urllib.request.urlopen(req, timeout=2).status == 200 else 1)"

CMD ["gunicorn", "dealscale.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-", "--forwarded-allow-ips", "*"]
