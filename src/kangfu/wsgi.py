"""WSGI entry point for deployments: `kangfu.wsgi:application` behind a reverse proxy."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kangfu.settings")
application = get_wsgi_application()
