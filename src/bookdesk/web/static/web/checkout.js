/* Checkout: "Proceed to payment" opens Stripe's page without a page reload, and says so while it works.
   Without JavaScript the form posts to /checkout, which redirects to the same page. */
(function () {
  "use strict";

  var form = document.getElementById("checkout-form");
  if (!form || !window.fetch) {
    return;
  }
  var button = document.getElementById("pay-button");
  var status = document.getElementById("checkout-status");
  var errorBox = document.getElementById("checkout-error");
  var errorDetail = document.getElementById("checkout-error-detail");
  var FALLBACK = "Something went wrong while opening the payment page. Please try again.";
  var OFFLINE = "We could not reach the shop. Check your connection and try again.";

  function busy() {
    button.disabled = true;
    button.textContent = "Opening the payment page…";
    form.setAttribute("aria-busy", "true");
    status.textContent = "Opening the payment page…";
    errorBox.hidden = true;
  }

  function idle(label) {
    button.disabled = false;
    button.textContent = label;
    form.removeAttribute("aria-busy");
    status.textContent = "";
  }

  function fail(detail) {
    errorDetail.textContent = detail || FALLBACK;
    errorBox.hidden = false;
    idle("Try again");
    button.focus();
  }

  function csrfToken() {
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (button.disabled) {
      return;
    }
    busy();
    fetch(form.getAttribute("data-api"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (body) {
            if (response.ok && body.checkout_url) {
              window.location.assign(body.checkout_url);
              return;
            }
            fail(body.detail);
          });
      })
      .catch(function () {
        fail(OFFLINE);
      });
  });

  // Coming back with the Back button from Stripe's page restores this page as it was left: busy.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      idle(button.getAttribute("data-label"));
    }
  });
})();
