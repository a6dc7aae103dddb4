import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bookdesk.settings")
application = get_wsgi_application()

# A server started without a management command (granian, gunicorn) refuses what `bookdesk serve` refuses.
from bookdesk.ops.config import refuse_unsafe_start  # noqa: E402  (after Django is set up)

refuse_unsafe_start()

# What is loaded by now (Django, the apps, every view module through the URL patterns) lives as long as the
# process: kept out of the garbage collector's full passes, which otherwise walk it all every so often, in the
# middle of some request (a 10,000-seat roster page: ~60 ms, ~125 ms when a full pass landed in it).
import gc  # noqa: E402

from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018  (imports the views)
gc.freeze()
