from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    return {
        "site_name": settings.BOOKDESK_NAME,
        "site_url": settings.SITE_URL,
        # Pages show times in the business's zone (base.html wraps the body in {% timezone %}).
        "business_time_zone": settings.BOOKDESK_TIME_ZONE,
    }
