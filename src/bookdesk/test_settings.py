"""Settings for the test suite: the same as production's, with fast hashing and local email."""

import os

os.environ.setdefault("BOOKDESK_TESTING", "1")

from bookdesk.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
