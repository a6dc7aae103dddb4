"""Countries are ISO 3166-1 alpha-2 codes in code and in the API ("DE"), and read by their names wherever a
person reads an address ("Germany"), from pycountry's copy of the standard."""

from __future__ import annotations

import pycountry


def country_name(code: str) -> str:
    """The English short name of an alpha-2 code ("DE" → "Germany"); the code itself when the standard has none."""
    found = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    return str(getattr(found, "common_name", None) or found.name) if found is not None else code
