"""The hosted checkout page's HTML: the card and bank debit form, the 3-D Secure challenge, and
the notices of a paid, processing, expired or unknown session, with their security headers.

Plain HTML forms (they work without JavaScript), inline CSS. Everything from the session is
merchant data and is escaped; merchant URLs become links only when they are http(s).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from html import escape
from typing import Any
from urllib.parse import urlsplit

from stripe_sandbox import currencies
from stripe_sandbox.cards import CARD_NUMBERS
from stripe_sandbox.replies import Reply

CURRENCY_SYMBOLS = {
    "eur": "€",
    "usd": "$",
    "gbp": "£",
    "jpy": "¥",
    "krw": "₩",
    "inr": "₹",
    "cny": "CN¥",
    "aud": "A$",
    "cad": "CA$",
    "chf": "CHF ",
}


def _grouped(number: str) -> str:
    """As printed on the card: 4-6-5 for American Express's 15 digits, else groups of four."""
    if len(number) == 15:
        return f"{number[:4]} {number[4:10]} {number[10:]}"
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


TEST_CARDS = tuple((_grouped(number), effect) for number, (_, effect) in CARD_NUMBERS.items())

# The page's only script: stop a second click from paying twice. Allowed by its hash (CSP).
DISABLE_ON_SUBMIT = (
    'document.querySelectorAll("form").forEach(function (form) {'
    ' form.addEventListener("submit", function () {'
    ' form.querySelectorAll("button").forEach(function (b) { b.disabled = true; }); }); });'
)
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(DISABLE_ON_SUBMIT.encode()).digest()).decode("ascii")

DEFAULT_SEPA_DELAY_SECONDS = 5  # what the bank debit form offers
DIVIDER = '<div class="divider"><span>or</span></div>'


# --- money ---------------------------------------------------------------------------------


def format_amount(amount: int, currency: str) -> str:
    """An amount in the currency's smallest unit, written for people: ``€1,234.50``, ``¥1,500``."""
    code = currency.lower()
    decimals = currencies.decimals(code)
    sign = "-" if amount < 0 else ""
    units, minor = divmod(abs(amount), 10**decimals)
    number = f"{units:,}" + (f".{minor:0{decimals}d}" if decimals else "")
    symbol = CURRENCY_SYMBOLS.get(code)
    if symbol is None:
        return f"{sign}{number} {code.upper()}"
    return f"{sign}{symbol}{number}"


# --- pages ---------------------------------------------------------------------------------


def checkout_page(
    session: Mapping[str, Any],
    session_id: str,
    *,
    errors: list[str] | None = None,
    values: Mapping[str, str] | None = None,
    invalid: set[str] | None = None,
    sepa: Mapping[str, str] | None = None,
) -> str:
    values = values or {}
    invalid = invalid or set()
    sepa = sepa or {}
    currency = str(session.get("currency") or "usd")
    chosen = _chosen_option(session, values.get("shipping_rate"))
    shipping_amount = int(chosen["shipping_amount"]) if chosen else 0
    amount_due = int(session.get("amount_subtotal") or 0) + shipping_amount if chosen else session.get("amount_total")
    total = format_amount(int(amount_due or 0), currency)
    action = f"/c/pay/{escape(session_id)}"

    def field(name: str, label: str, **attrs: str) -> str:
        extra = "".join(f' {key.replace("_", "-")}="{escape(val)}"' for key, val in attrs.items())
        bad = ' aria-invalid="true" class="invalid"' if name in invalid else ""
        return (
            f'<label for="card-{name}">{label}</label>'
            f'<input id="card-{name}" name="{name}" value="{escape(values.get(name, ""))}"'
            f"{extra}{bad}>"
        )

    error_box = ""
    if errors:
        items = "".join(f"<p>{escape(message)}</p>" for message in errors)
        error_box = f'<div id="error" class="error" role="alert">{items}</div>'
    email = session.get("customer_email")
    email_row = (
        f'<div class="email"><span>Email</span> <strong id="customer-email">{escape(str(email))}</strong></div>'
        if email
        else ""
    )
    outcome = sepa.get("delayed_outcome", "succeeded")
    checked = {key: " checked" if outcome == key else "" for key in ("succeeded", "failed")}
    delay = escape(sepa.get("delay_seconds", str(DEFAULT_SEPA_DELAY_SECONDS)))
    cards = "".join(f"<li><code>{number}</code> <span>{escape(effect)}</span></li>" for number, effect in TEST_CARDS)
    number_field = field(
        "number",
        "Card number",
        inputmode="numeric",
        autocomplete="cc-number",
        placeholder="1234 1234 1234 1234",
        maxlength="23",
        required="",
    )
    expiry_field = field(
        "expiry",
        "Expiry (MM/YY)",
        inputmode="numeric",
        autocomplete="cc-exp",
        placeholder="MM / YY",
        maxlength="7",
        required="",
    )
    cvc_field = field(
        "cvc", "CVC", inputmode="numeric", autocomplete="cc-csc", placeholder="123", maxlength="4", required=""
    )
    name_field = field("name", "Name on card", autocomplete="cc-name", placeholder="Full name")
    address = address_fieldsets(session, values, invalid)
    shipping_row = (
        f'<div class="total-row shipping-row"><span>Shipping <span class="muted" id="shipping-name">'
        f"{escape(str(chosen.get('_display_name') or ''))}</span></span>"
        f'<span id="shipping-amount">{escape(format_amount(shipping_amount, currency))}</span></div>'
        if chosen
        else ""
    )
    # With several shipping options the total follows the one chosen (no script to update the label): "Pay".
    pay_label = "Pay" if len(session.get("shipping_options") or []) > 1 else f"Pay {escape(total)}"
    offered = set(session.get("payment_method_types") or ["card"])
    if session.get("shipping_address_collection"):
        # A bank debit form of its own would need the address twice: goods are paid by card here.
        offered.discard("sepa_debit")
    card_form = (
        f"""
    <form method="post" action="{action}" id="card-form" class="card-form">
      <input type="hidden" name="method" value="card">
      {address}
      <h2>Pay with card</h2>
      {number_field}
      <div class="pair">
        <div>{expiry_field}</div>
        <div>{cvc_field}</div>
      </div>
      {name_field}
      <button type="submit" id="pay-button" class="primary">{pay_label}</button>
    </form>"""
        if offered & {"card", "link"}
        else ""
    )
    sepa_form = (
        f"""
    <form method="post" action="{action}" id="sepa-form" class="sepa-form">
      <input type="hidden" name="method" value="sepa_debit">
      <fieldset>
        <legend>Bank debit outcome (test)</legend>
        <label class="radio"><input type="radio" id="sepa-outcome-succeeded"
          name="delayed_outcome" value="succeeded"{checked["succeeded"]}> Succeeds</label>
        <label class="radio"><input type="radio" id="sepa-outcome-failed"
          name="delayed_outcome" value="failed"{checked["failed"]}> Fails</label>
        <label class="inline" for="sepa-delay">Settles after
          <input id="sepa-delay" name="delay_seconds" value="{delay}" inputmode="decimal"
            size="4"> seconds</label>
      </fieldset>
      <button type="submit" id="sepa-button" class="secondary">
        Pay with bank debit (SEPA, settles later)</button>
    </form>"""
        if "sepa_debit" in offered
        else ""
    )
    divider = DIVIDER if card_form and sepa_form else ""
    if not card_form and not sepa_form:
        card_form = '<p id="no-method">None of this session\'s payment methods can be simulated here.</p>'
    forms = card_form + divider + sepa_form
    body = f"""
<main class="checkout">
  <section class="summary" aria-label="Order summary"><div class="inner">
    {_cancel_link(session, session_id)}
    <p class="merchant">Pay <span class="badge">Test mode</span></p>
    <p class="total" id="total">{escape(total)}</p>
    {_line_items(session, currency)}
    {shipping_row}
    <div class="total-row"><span>Total due</span><strong id="total-due">{escape(total)}</strong></div>
  </div></section>
  <section class="pay" aria-label="Payment">
    {email_row}
    {error_box}
    {forms}
    <aside class="hint" id="test-cards">
      <h3>Test cards</h3>
      <p>Any future expiry date (e.g. 12/34), any 3-digit CVC (4 for American Express) and any name.</p>
      <ul>{cards}</ul>
    </aside>
  </section>
</main>
<script>{DISABLE_ON_SUBMIT}</script>"""
    return layout("Checkout", body)


def _chosen_option(session: Mapping[str, Any], rate_id: str | None) -> dict[str, Any] | None:
    options = list(session.get("shipping_options") or [])
    if not options:
        return None
    current = (session.get("shipping_cost") or {}).get("shipping_rate")
    wanted = rate_id or current
    return next((o for o in options if o.get("shipping_rate") == wanted), options[0])


def address_fieldsets(session: Mapping[str, Any], values: Mapping[str, str], invalid: set[str]) -> str:
    """The shipping address (countries limited to the session's allowed ones) and option choice; the billing
    address when the session requires one. Field names: ``shipping_<field>``, ``billing_<field>``."""
    parts = []
    collection = session.get("shipping_address_collection")
    if collection:
        parts.append(
            _address_fieldset("shipping", "Shipping address", collection["allowed_countries"], values, invalid)
        )
    options = list(session.get("shipping_options") or [])
    if options:
        chosen = _chosen_option(session, values.get("shipping_rate"))
        currency = str(session.get("currency") or "usd")
        radios = "".join(
            f'<label class="option"><input type="radio" name="shipping_rate" '
            f'value="{escape(o["shipping_rate"])}" id="rate-{index}"'
            f"{' checked' if chosen is o else ''}> <span>{escape(str(o.get('_display_name') or 'Shipping'))}"
            f"{_estimate(o)}</span>"
            f"<strong>{escape(format_amount(int(o['shipping_amount']), currency))}</strong></label>"
            for index, o in enumerate(options)
        )
        parts.append(f'<fieldset id="shipping-options"><legend>Shipping method</legend>{radios}</fieldset>')
    if session.get("billing_address_collection") == "required":
        parts.append(_address_fieldset("billing", "Billing address", None, values, invalid))
    return "".join(parts)


def _estimate(option: Mapping[str, Any]) -> str:
    estimate = option.get("_delivery_estimate") or {}
    low, high = estimate.get("minimum"), estimate.get("maximum")
    if not (low and high):
        return ""
    unit = str(high["unit"]).replace("_", " ")
    return f' <span class="muted">{low["value"]}–{high["value"]} {escape(unit)}s</span>'


def _address_fieldset(
    prefix: str, legend: str, countries: list[str] | None, values: Mapping[str, str], invalid: set[str]
) -> str:
    def field(name: str, label: str, autocomplete: str, required: bool = True) -> str:
        key = f"{prefix}_{name}"
        bad = ' aria-invalid="true" class="invalid"' if key in invalid else ""
        need = " required" if required else ""
        return (
            f'<label for="{key}">{label}</label><input id="{key}" name="{key}" '
            f'value="{escape(values.get(key, ""))}" autocomplete="{prefix} {autocomplete}"{need}{bad}>'
        )

    codes = countries or sorted(COUNTRY_NAMES)
    selected = values.get(f"{prefix}_country", "") or (codes[0] if len(codes) == 1 else "")
    choices = "".join(
        f'<option value="{escape(code)}"{" selected" if code == selected else ""}>'
        f"{escape(COUNTRY_NAMES.get(code, code))}</option>"
        for code in sorted(codes, key=lambda c: COUNTRY_NAMES.get(c, c))
    )
    bad_country = ' aria-invalid="true" class="invalid"' if f"{prefix}_country" in invalid else ""
    return f"""<fieldset class="address" id="{prefix}-address"><legend>{legend}</legend>
      {field("name", "Full name", "name")}
      {field("line1", "Address line 1", "address-line1")}
      {field("line2", "Address line 2 (optional)", "address-line2", required=False)}
      <div class="pair">
        <div>{field("postal_code", "Postal code", "postal-code", required=False)}</div>
        <div>{field("city", "City", "address-level2")}</div>
      </div>
      {field("state", "State or province (US, CA, AU)", "address-level1", required=False)}
      <label for="{prefix}_country">Country</label>
      <select id="{prefix}_country" name="{prefix}_country" autocomplete="{prefix} country" required{bad_country}>
        <option value="">Choose a country</option>{choices}</select>
    </fieldset>"""


COUNTRY_NAMES = {
    "AT": "Austria", "AU": "Australia", "BE": "Belgium", "BG": "Bulgaria", "BR": "Brazil", "CA": "Canada",
    "CH": "Switzerland", "CN": "China", "CY": "Cyprus", "CZ": "Czechia", "DE": "Germany", "DK": "Denmark",
    "EE": "Estonia", "ES": "Spain", "FI": "Finland", "FR": "France", "GB": "United Kingdom", "GR": "Greece",
    "HK": "Hong Kong", "HR": "Croatia", "HU": "Hungary", "IE": "Ireland", "IN": "India", "IS": "Iceland",
    "IT": "Italy", "JP": "Japan", "KR": "South Korea", "LI": "Liechtenstein", "LT": "Lithuania",
    "LU": "Luxembourg", "LV": "Latvia", "MT": "Malta", "MX": "Mexico", "NL": "Netherlands", "NO": "Norway",
    "NZ": "New Zealand", "PL": "Poland", "PT": "Portugal", "RO": "Romania", "SE": "Sweden", "SG": "Singapore",
    "SI": "Slovenia", "SK": "Slovakia", "TR": "Türkiye", "US": "United States", "ZA": "South Africa",
}  # fmt: skip


def _line_items(session: Mapping[str, Any], currency: str) -> str:
    line_items = session.get("line_items") or {}
    rows = []
    for item in line_items.get("data") or []:
        quantity = int(item.get("quantity") or 1)
        item_currency = str(item.get("currency") or currency)
        amount = format_amount(int(item.get("amount_total") or 0), item_currency)
        unit_amount = (item.get("price") or {}).get("unit_amount")
        each = (
            f'<span class="each">{escape(format_amount(int(unit_amount), item_currency))} each</span>'
            if quantity > 1 and unit_amount is not None
            else ""
        )
        rows.append(
            '<li class="line-item"><div><span class="description">'
            f"{escape(str(item.get('description') or 'Item'))}</span>"
            f' <span class="quantity">× {quantity}</span>{each}</div>'
            f'<span class="amount">{escape(amount)}</span></li>'
        )
    return f'<ul class="line-items" id="line-items">{"".join(rows)}</ul>'


def challenge_page(session: Mapping[str, Any], session_id: str, error: str = "") -> str:
    total = format_amount(int(session.get("amount_total") or 0), str(session.get("currency") or "usd"))
    action = f"/c/pay/{escape(session_id)}/3ds"
    error_box = f'<div id="error" class="error" role="alert">{escape(error)}</div>' if error else ""
    body = f"""
<main class="narrow">
  <section class="bank">
    <p class="bank-name">Sandbox Bank <span class="badge">Test mode</span></p>
    <h1>3-D Secure authentication</h1>
    <p>Your bank asks you to confirm a payment of <strong id="total">{escape(total)}</strong>.
      This is a test challenge: choose how it ends.</p>
    {error_box}
    <form method="post" action="{action}" class="choices">
      <button type="submit" name="result" value="approve" id="approve-3ds" class="primary">
        Complete authentication</button>
      <button type="submit" name="result" value="fail" id="fail-3ds" class="danger">
        Fail authentication</button>
    </form>
  </section>
</main>"""
    return layout("3-D Secure authentication", body)


def closed_page(session: Mapping[str, Any], session_id: str, status: int) -> Reply:
    if session.get("status") == "complete":
        paid = session.get("payment_status") in ("paid", "no_payment_required")
        title = "This order is already paid" if paid else "Your payment is being processed"
        text = (
            "Nothing more to do here: this checkout session has been paid."
            if paid
            else "This checkout session is complete; the bank debit settles later."
        )
        href = _success_href(session, session_id)
        link = f'<a id="success-link" class="button" href="{escape(href)}">Continue to the shop</a>' if href else ""
        return html(status, layout(title, notice(title, text, link)))
    title = "This checkout session has expired"
    text = "The time to pay has run out. Return to the shop to start again."
    link = (
        f'<a id="cancel-link" class="button" href="{escape(_cancel_href(session, session_id))}">'
        "← Return to the shop</a>"
    )
    return html(status, layout(title, notice(title, text, link)))


def not_found() -> Reply:
    title = "Checkout session not found"
    text = (
        "This payment link does not exist or is no longer valid. "
        "Check the address, or return to the shop and start the checkout again."
    )
    return html(404, layout(title, notice(title, text)))


def notice(title: str, text: str, link: str = "") -> str:
    return (
        f'<main class="narrow"><section class="notice"><h1>{escape(title)}</h1>'
        f"<p>{escape(text)}</p>{link}</section></main>"
    )


def _cancel_link(session: Mapping[str, Any], session_id: str) -> str:
    if not session.get("cancel_url"):
        return ""
    href = escape(_cancel_href(session, session_id))
    return f'<a id="cancel-link" class="back" href="{href}">← Cancel and return to the shop</a>'


def _cancel_href(session: Mapping[str, Any], session_id: str) -> str:
    url = str(session.get("cancel_url") or "")
    return url if _is_web_url(url) else f"/c/pay/{session_id}"


def _success_href(session: Mapping[str, Any], session_id: str) -> str:
    url = str(session.get("success_url") or "").replace("{CHECKOUT_SESSION_ID}", session_id)
    return url if _is_web_url(url) else ""


def _is_web_url(url: str) -> bool:
    # Merchant URLs become links: only http(s), never javascript: or data:.
    return urlsplit(url).scheme in ("http", "https")


# --- HTTP ----------------------------------------------------------------------------------


def html(status: int, page: str) -> Reply:
    return status, _headers(), page.encode("utf-8")


def _headers() -> list[tuple[str, str]]:
    return [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "no-store"),
        (
            "Content-Security-Policy",
            f"default-src 'none'; style-src 'unsafe-inline'; script-src '{SCRIPT_HASH}'; "
            "img-src data:; base-uri 'none'; frame-ancestors 'none'",
        ),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Robots-Tag", "noindex"),
    ]


def redirect(location: str) -> Reply:
    return (
        303,
        [("Location", location), ("Cache-Control", "no-store")],
        b"",
    )


def layout(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{escape(title)} · Stripe sandbox</title>
<style>{STYLE}</style>
</head>
<body>{body}
</body>
</html>
"""


STYLE = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif;color:#1a1f36;background:#fff}
a{color:#635bff}
.checkout{display:grid;grid-template-columns:1fr 1fr;min-height:100vh}
.summary{background:#f6f9fc;padding:48px 56px;border-right:1px solid #e3e8ee}
.summary .inner{max-width:440px;margin-left:auto}
.pay{padding:48px 56px;max-width:552px}
.back{display:inline-block;margin-bottom:28px;color:#697386;text-decoration:none;font-size:14px}
.back:hover{color:#1a1f36}
.merchant{margin:0;color:#697386;font-weight:500}
.badge{display:inline-block;margin-left:6px;padding:1px 7px;border-radius:4px;
background:#ffde92;color:#983705;font-size:11px;font-weight:600;text-transform:uppercase;
letter-spacing:.03em;vertical-align:middle}
.total{margin:4px 0 28px;font-size:36px;font-weight:600;letter-spacing:-.01em}
.line-items{list-style:none;margin:0;padding:0}
.line-item{display:flex;justify-content:space-between;gap:16px;padding:12px 0;
border-bottom:1px solid #e3e8ee}
.line-item .description{font-weight:500}
.line-item .quantity{color:#697386;font-size:14px}
.line-item .each{display:block;color:#697386;font-size:13px}
.line-item .amount{white-space:nowrap;font-weight:500}
.total-row{display:flex;justify-content:space-between;padding:16px 0;font-weight:600}
.email{margin-bottom:20px;color:#697386}
.email strong{color:#1a1f36;font-weight:500}
h2{font-size:18px;margin:0 0 14px}
label{display:block;margin:14px 0 6px;font-size:13px;font-weight:500;color:#3c4257}
input{width:100%;padding:10px 12px;border:1px solid #d5dbe1;border-radius:6px;font:inherit;
color:inherit;background:#fff;box-shadow:0 1px 1px rgba(0,0,0,.03)}
input:focus{outline:none;border-color:#635bff;box-shadow:0 0 0 3px rgba(99,91,255,.25)}
input.invalid{border-color:#df1b41;box-shadow:0 0 0 2px rgba(223,27,65,.15)}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:12px}
select{width:100%;padding:10px 12px;border:1px solid #d5dbe1;border-radius:6px;font:inherit;color:inherit;
background:#fff}
select.invalid{border-color:#df1b41;box-shadow:0 0 0 2px rgba(223,27,65,.15)}
fieldset.address{margin:0 0 20px;padding:4px 16px 16px}
#shipping-options{margin:0 0 24px;padding:4px 16px 10px}
.option{display:flex;align-items:center;gap:10px;margin:10px 0 0;font-size:14px;font-weight:400}
.option input{width:auto;box-shadow:none}
.option span{flex:1}
.muted{color:#697386;font-weight:400;font-size:13px}
.shipping-row{font-weight:500;border-bottom:1px solid #e3e8ee}
button{width:100%;margin-top:20px;padding:12px 16px;border:0;border-radius:6px;font:inherit;
font-weight:600;cursor:pointer}
button:disabled{opacity:.6;cursor:progress}
.primary{background:#635bff;color:#fff}
.primary:hover{background:#5046e5}
.secondary{background:#fff;color:#1a1f36;border:1px solid #d5dbe1}
.secondary:hover{background:#f6f9fc}
.danger{background:#fff;color:#df1b41;border:1px solid #df1b41}
.danger:hover{background:#fff5f7}
.error{margin:0 0 18px;padding:12px 14px;border-radius:6px;background:#fff5f7;
border:1px solid #f9c0cc;color:#df1b41;font-weight:500}
.error p{margin:0}.error p+p{margin-top:4px}
.divider{display:flex;align-items:center;gap:12px;margin:28px 0 8px;color:#8792a2;
font-size:13px}
.divider:before,.divider:after{content:"";flex:1;border-top:1px solid #e3e8ee}
fieldset{border:1px solid #e3e8ee;border-radius:6px;margin:12px 0 0;padding:8px 14px 14px}
legend{padding:0 4px;font-size:13px;font-weight:500;color:#3c4257}
.radio{display:inline-flex;align-items:center;gap:6px;margin:8px 20px 0 0;font-size:14px}
.radio input{width:auto;box-shadow:none}
.inline{display:flex;align-items:center;gap:8px;font-weight:400}
.inline input{width:5em;padding:6px 8px}
.hint{margin-top:32px;padding:14px 16px;border-radius:6px;background:#f6f9fc;
border:1px dashed #c1c9d2;font-size:13px;color:#3c4257}
.hint h3{margin:0 0 4px;font-size:13px}
.hint p{margin:0 0 6px}
.hint ul{margin:0;padding:0;list-style:none}
.hint li{display:flex;gap:10px;padding:2px 0}
.hint code{font:12px/1.6 ui-monospace,SFMono-Regular,Menlo,monospace;white-space:nowrap}
.narrow{max-width:480px;margin:10vh auto;padding:0 20px}
.notice,.bank{padding:32px;border:1px solid #e3e8ee;border-radius:10px;
box-shadow:0 6px 24px rgba(50,50,93,.08)}
.notice h1,.bank h1{font-size:22px;margin:0 0 10px}
.bank-name{margin:0 0 18px;color:#697386;font-weight:600}
.choices button{margin-top:12px}
.button{display:inline-block;margin-top:14px;padding:10px 16px;border-radius:6px;
background:#635bff;color:#fff;text-decoration:none;font-weight:600}
@media (max-width:820px){
.checkout{display:block;min-height:0}
.summary{padding:24px 20px;border-right:0;border-bottom:1px solid #e3e8ee}
.summary .inner{max-width:none}
.pay{padding:24px 20px;max-width:none}
.total{font-size:30px;margin-bottom:16px}
}
"""
