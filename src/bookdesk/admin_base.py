"""Admin bases: records that change only through the services, and the admin reading like the shop.

`NoAddDeleteAdmin`: operators look and run actions, but never add or delete rows by hand.
`ReadOnlyAdmin`: the same, and no field can be edited either.
`ReadOnlyInline`: a table of related rows, shown and never changed.

For staff reading (every admin uses these; a new model's admin should too):
- `money_display("total_amount")`: a column or read-only field showing `€129.99`, never `12999`;
- `local_time_display("created_at")`: the time in the business's zone, named (`4 Dec 2026 19:00 CET`) —
  the zone is the one `bookdesk.web.middleware.AdminTimeZoneMiddleware` activates for the admin;
- `truncated_display("description", 60)`: long text cut to fit a table, the whole of it on hover;
- `InUseChoicesFilter`: a choices filter listing only the values in use (hidden when all rows share one);
- `MoneyInputAdmin` + `MoneyAmountField`: price fields typed and shown in major units with the currency,
  stored in minor units.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from bookdesk.money import CURRENCIES, decimals, format_major, format_money, parse_major

M = TypeVar("M", bound=models.Model)
Display = Callable[[Any, Any], Any]


class NoAddDeleteAdmin(admin.ModelAdmin[M]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: M | None = None,
    ) -> HttpResponse:
        # Every field read-only (the record changes through its actions): a page to read, with no Save buttons.
        if not context["adminform"].form.fields:
            context.update(
                title=capfirst(self.opts.verbose_name),
                show_save=False,
                show_save_and_continue=False,
                show_save_and_add_another=False,
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


class ReadOnlyAdmin(NoAddDeleteAdmin[M]):
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def flatten(fields: Any) -> tuple[str, ...]:
    """`fields` with rows grouped (`("a", ("b", "c"))`) as the flat names `readonly_fields` takes."""
    return tuple(name for row in fields for name in (row if isinstance(row, (list, tuple)) else (row,)))


# ---- reading: money, local time, long text ------------------------------------------------------------


def _attribute(obj: Any, path: str) -> Any:
    """`"order.currency"` read off `obj`; None when a link on the way is missing."""
    for name in path.split("."):
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


def _label(field: str) -> str:
    return field.removesuffix("_amount").removesuffix("_at").replace("_", " ")


def money_display(amount_field: str, *, currency: str = "currency", description: str | None = None) -> Display:
    """A display method for `list_display` / `readonly_fields`: the amount with its currency (`€129.99`).

    `currency` is the attribute path of the currency on the object (`"order.currency"` for a line).
    Assign it to an admin attribute of another name than the model field (`total = money_display("total_amount")`),
    since the admin prefers a model field over a method of the same name.
    """

    @admin.display(description=description or _label(amount_field), ordering=amount_field)
    def show(self: Any, obj: Any) -> str:
        amount, code = _attribute(obj, amount_field), _attribute(obj, currency)
        if amount is None or not code:
            return "—"
        return format_money(amount, code)

    show.__name__ = f"{amount_field}_money"
    return show


def format_local_time(value: dt.datetime | None) -> str:
    """An instant in the active zone (the business's, in the admin), named: `4 Dec 2026 19:00 CET`."""
    if value is None:
        return "—"
    local = timezone.localtime(value)
    return f"{local.day} {local:%b %Y %H:%M} {local.tzname()}"


def local_time_display(field: str, *, description: str | None = None) -> Display:
    """A display method showing a datetime field in the business's zone with the zone named."""

    @admin.display(description=description or _label(field), ordering=field)
    def show(self: Any, obj: Any) -> str:
        return format_local_time(_attribute(obj, field))

    show.__name__ = f"{field}_local"
    return show


def breakable(text: str) -> str:
    """Text that may wrap after its dots and underscores (`checkout.session.completed` in a narrow column)."""
    return format_html_join("", "{}<wbr>", ((part,) for part in re.split(r"(?<=[._])", text)))


def truncated_display(field: str, length: int = 60, *, description: str | None = None) -> Display:
    """A display method cutting long text to `length` characters; the whole text shows on hover."""

    @admin.display(description=description or field.replace("_", " "))
    def show(self: Any, obj: Any) -> str:
        text = str(_attribute(obj, field) or "")
        first_line = text.splitlines()[0] if text else ""
        if len(first_line) <= length and first_line == text:
            return text
        return format_html('<span title="{}">{}…</span>', text, first_line[: length - 1].rstrip())

    show.__name__ = f"{field}_short"
    return show


# Keys of a record's JSON data (audit entries) whose integer values are amounts in minor units.
MONEY_KEYS = frozenset(
    {"amount", "total", "subtotal", "tax", "shipping", "paid", "received", "refunded", "expected", "left", "fee"}
)


def format_data(data: Any, currency: str | None) -> str:
    """A record's JSON data as a line a person reads, amounts as money: `total €149.00 · lines 1 · kind course`."""
    if not isinstance(data, dict):
        return "" if data in (None, "", [], {}) else str(data)
    code = str(data.get("currency") or currency or "")
    parts = []
    for key, value in data.items():
        is_amount = key in MONEY_KEYS or key.endswith("_amount") or key.startswith("amount_")
        if is_amount and code and isinstance(value, int) and not isinstance(value, bool):
            value = format_money(value, code)
        elif key == "currency" and isinstance(value, str):
            value = value.upper()
        parts.append(f"{key.replace('_', ' ')} {value}")
    return " · ".join(parts)


def data_display(
    field: str = "data", *, currency: str = "order.currency", length: int = 90, description: str | None = None
) -> Display:
    """A display method for a JSON field (audit data): one readable line, amounts as money, cut to `length`."""

    @admin.display(description=description or field.replace("_", " "))
    def show(self: Any, obj: Any) -> str:
        text = format_data(_attribute(obj, field), _attribute(obj, currency))
        if len(text) <= length:
            return text
        return format_html('<span title="{}">{}…</span>', text, text[: length - 1].rstrip())

    show.__name__ = f"{field}_shown"
    return show


def json_display(field: str, *, description: str | None = None) -> Display:
    """A display method for a JSON field on a detail page: indented, wrapped, in a box that scrolls when long."""

    @admin.display(description=description or field.replace("_", " "))
    def show(self: Any, obj: Any) -> str:
        value = _attribute(obj, field)
        return format_html('<pre class="bd-json">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False))

    show.__name__ = f"{field}_json"
    return show


# ---- filters ---------------------------------------------------------------------------------------------


class InUseChoicesFilter(admin.ChoicesFieldListFilter):
    """A choices filter that lists only the values some row has (a EUR shop sees no list of 25 currencies).

    Use it as `list_filter = [("currency", InUseChoicesFilter)]`. With fewer than two values in use the filter
    is hidden: there is nothing to choose between.
    """

    def __init__(self, field: Any, request: HttpRequest, params: Any, model: Any, model_admin: Any, field_path: str):
        super().__init__(field, request, params, model, model_admin, field_path)
        rows = model_admin.get_queryset(request).order_by().values_list(field_path, flat=True).distinct()
        in_use = {str(value) for value in rows if value is not None}
        self.in_use: list[tuple[Any, str]] = [
            (value, title) for value, title in field.flatchoices if value is not None and str(value) in in_use
        ]

    def has_output(self) -> bool:
        return len(self.in_use) > 1 or self.lookup_val is not None

    def get_facet_counts(self, pk_attname: str, filtered_qs: Any) -> dict[str, Any]:
        return {
            f"{i}__c": models.Count(pk_attname, filter=models.Q((self.lookup_kwarg, value)))
            for i, (value, _title) in enumerate(self.in_use)
        }

    def choices(self, changelist: ChangeList) -> Iterator[Any]:
        counts = self.get_facet_queryset(changelist) if changelist.add_facets else None
        yield {
            "selected": self.lookup_val is None,
            "query_string": changelist.get_query_string(remove=[self.lookup_kwarg, self.lookup_kwarg_isnull]),
            "display": _("All"),
        }
        for i, (value, title) in enumerate(self.in_use):
            yield {
                "selected": self.lookup_val is not None and str(value) in self.lookup_val,
                "query_string": changelist.get_query_string({self.lookup_kwarg: value}, [self.lookup_kwarg_isnull]),
                "display": f"{title} ({counts[f'{i}__c']})" if counts is not None else title,
            }


# ---- typing money ----------------------------------------------------------------------------------------


class MoneyAmountField(forms.CharField):
    """An amount typed in major units (`129.99`, `1200` for JPY), cleaned to minor units (`12999`).

    Its `currency` is set by `MoneyModelForm` (from the form's currency field or the object) or by
    `ParentCurrencyFormSet` (from the parent object, for inline rows priced in the parent's currency).
    """

    def __init__(self, *, currency: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "size": 12, "class": "money"}))
        super().__init__(strip=True, **kwargs)
        self.currency = currency or settings.BOOKDESK_CURRENCY

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return format_major(value, self.currency)
        return value

    def clean(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().clean(value)
        if text in self.empty_values:
            return None
        try:
            amount = parse_major(text, self.currency)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid_amount") from exc
        if amount < 0:
            raise ValidationError("Enter an amount of zero or more.", code="negative_amount")
        return amount

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            submitted = parse_major(data, self.currency) if data not in self.empty_values else None
        except ValueError:
            return True
        return submitted != initial

    def describe(self) -> None:
        code = self.currency.upper()
        example = (
            "1200"
            if decimals(self.currency) == 0
            else format_major(12999 * 10 ** (decimals(self.currency) - 2), self.currency)
        )
        self.help_text = f"In {code}, such as {example}."


class MoneyModelForm(forms.ModelForm):  # type: ignore[type-arg]
    """Sets each `MoneyAmountField`'s currency: the one submitted in the form's `currency` field, else the object's."""

    currency_field = "currency"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        code = self.form_currency()
        for field in self.fields.values():
            if isinstance(field, MoneyAmountField):
                field.currency = code
                field.describe()
                if self.currency_field in self.fields:
                    field.help_text += " The currency is chosen below."

    def form_currency(self) -> str:
        name = self.currency_field
        if name in self.fields:
            if self.is_bound:
                submitted = str(self.data.get(self.add_prefix(name), "")).lower()
                if submitted in CURRENCIES:
                    return submitted
            initial = self.get_initial_for_field(self.fields[name], name)
            if initial:
                return str(initial)
        return str(getattr(self.instance, name, "") or settings.BOOKDESK_CURRENCY)


class ParentCurrencyFormSet(forms.BaseInlineFormSet):  # type: ignore[type-arg]
    """Inline rows priced in the parent's currency (a product's licences): their money fields take it."""

    def add_fields(self, form: Any, index: Any) -> None:
        super().add_fields(form, index)
        code = getattr(self.instance, "currency", "") or settings.BOOKDESK_CURRENCY
        for field in form.fields.values():
            if isinstance(field, MoneyAmountField):
                field.currency = code
                field.describe()
                field.help_text = ""  # a table column: the currency is in the header
                field.label = f"{field.label} ({code.upper()})"


class MoneyInputMixin:
    """For a ModelAdmin or an inline: the model fields named in `money_fields` are typed in major units."""

    money_fields: tuple[str, ...] = ()
    form: Any = MoneyModelForm

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name in self.money_fields:
            return MoneyAmountField(
                required=not db_field.blank,
                label=capfirst(_label(db_field.name)),
                initial=db_field.get_default() if db_field.has_default() else None,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
