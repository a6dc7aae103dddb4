import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookdesk.settings")
application = get_wsgi_application()

# A server started without a management command (granian, gunicorn) refuses what `bookdesk serve` refuses.
from bookdesk.ops.config import refuse_unsafe_start  # noqa: E402  (after Django is set up)

refuse_unsafe_start()
