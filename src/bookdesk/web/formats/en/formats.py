"""Dates and times as the shop reads them, wherever a template or the admin shows one without its own format.

The zone is named (`T`: CET, CEST, UTC…): the admin shows times in the business's zone
(`bookdesk.web.middleware.AdminTimeZoneMiddleware`), and a time without its zone is a guess.
"""

DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j M Y H:i T"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y H:i T"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
