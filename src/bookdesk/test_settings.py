"""Settings for the test suite: the same as production's, with fast hashing and local email."""

import os

os.environ.setdefault("BOOKDESK_TESTING", "1")

from bookdesk.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory: concurrency tests run threads, each with its own connection to the same database.
    # One file per test process, so two runs side by side (or xdist workers) never share one.
    DATA_DIR.mkdir(parents=True, exist_ok=True)  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}  # noqa: F405

# Every client of the suite comes from 127.0.0.1 (crowds of buyers included): the per-IP cap on new unpaid
# orders is lifted here, and tests/payments/test_unpaid_holds.py lowers it to test it.
RATE_LIMITS = {**RATE_LIMITS, "holds_ip": "1000000/60"}  # noqa: F405
