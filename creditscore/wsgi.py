"""WSGI entry point (gunicorn creditscore.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditscore.settings")

application = get_wsgi_application()
