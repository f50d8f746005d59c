/* Quanzi console: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  function drawCharts(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-plotly]").forEach(function (el) {
      if (el.dataset.drawn) return;
      var source = document.getElementById(el.dataset.plotly);
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(el, figure.data, figure.layout, {
        displayModeBar: false,
        responsive: true,
      });
      el.dataset.drawn = "1";
    });
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-menu-toggle]");
    if (toggle) {
      var menu = toggle.closest("[data-menu]");
      var open = menu.classList.toggle("is-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      return;
    }

    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      var box = dismiss.closest(".flash");
      if (box) box.remove();
      return;
    }

    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var input = document.querySelector(copy.dataset.copy);
      if (!input) return;
      var label = copy.querySelector("span");
      var done = function () {
        if (!label) return;
        var before = label.textContent;
        label.textContent = copy.dataset.copied || before;
        copy.classList.add("is-copied");
        setTimeout(function () { label.textContent = before; copy.classList.remove("is-copied"); }, 2000);
      };
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () {
          document.execCommand("copy");
          done();
        });
      } else {
        document.execCommand("copy");
        done();
      }
      return;
    }

    // Close an open <details> menu (the language switch) when clicking elsewhere.
    document.querySelectorAll("details[data-dismiss-outside][open]").forEach(function (d) {
      if (!d.contains(event.target)) d.removeAttribute("open");
    });
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute("data-busy")) form.classList.add("is-busy");
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details[data-dismiss-outside][open]").forEach(function (d) {
      d.removeAttribute("open");
    });
  });

  // Deferred scripts (plotly.min.js among them) have all run by DOMContentLoaded.
  if (document.readyState === "complete") {
    drawCharts(document);
  } else {
    document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  }
})();

/* The plan form shows only the fields of the chosen membership model; hidden fields are
   disabled so they are not sent. Without this script every field shows, and the server
   ignores the ones the model does not use. */
(function () {
  "use strict";
  function sync(form) {
    var kind = form.querySelector('select[name="kind"]');
    if (!kind) return;
    form.querySelectorAll("[data-kinds]").forEach(function (field) {
      var on = field.dataset.kinds.split(" ").indexOf(kind.value) !== -1;
      field.hidden = !on;
      field.querySelectorAll("input, select, textarea").forEach(function (input) { input.disabled = !on; });
    });
  }
  function init() {
    document.querySelectorAll("[data-kind-form]").forEach(function (form) {
      sync(form);
      form.addEventListener("change", function (event) {
        if (event.target.name === "kind") sync(form);
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
