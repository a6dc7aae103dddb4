"""What Django's debug page and error reports may show: settings and request environment with every secret
masked, URLs with credentials (database, email, Redis, DSNs) included, which Django's own filter lets through."""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter


class SecretSafeReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile("API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|URL|DSN|AUTH", flags=re.IGNORECASE)
