// Page behaviour without inline scripts (so a strict Content-Security-Policy can forbid them).
(function () {
  "use strict";

  // Interface text comes translated from the layout (<body data-msg-*>); Chinese is the fallback.
  function message(name, fallback) {
    return (document.body && document.body.dataset[name]) || fallback;
  }

  function noResults() {
    return '<div class="no-results">' + escapeHtml(message("msgNoResults", "无匹配结果")) + "</div>";
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function initAutocomplete(root) {
    root.querySelectorAll("select[data-autocomplete-url]").forEach(function (select) {
      if (select.tomselect) return;
      var url = select.dataset.autocompleteUrl;
      new TomSelect(select, {
        valueField: "value",
        labelField: "text",
        searchField: ["text"],
        maxOptions: 50,
        plugins: select.multiple ? ["remove_button"] : [],
        allowEmptyOption: true,
        load: function (query, callback) {
          fetch(url + "?q=" + encodeURIComponent(query), { credentials: "same-origin" })
            .then(function (response) { return response.json(); })
            .then(function (json) { callback(json.results); })
            .catch(function () { callback(); });
        },
        render: { no_results: noResults },
      });
    });
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  // A select whose missing options can be added: Tom Select posts the typed name to
  // data-create-url, which answers {value, text} or {error} (shown under the field).
  function initCreatable(root) {
    root.querySelectorAll("select[data-create-url]").forEach(function (select) {
      if (select.tomselect) return;
      var url = select.dataset.createUrl;
      var feedback = document.createElement("div");
      feedback.className = "invalid-feedback d-block";
      feedback.setAttribute("role", "alert");
      var control = new TomSelect(select, {
        plugins: select.multiple ? ["remove_button"] : [],
        persist: false,
        createFilter: function (input) { return input.trim().length > 0; },
        create: function (input, callback) {
          feedback.textContent = "";
          var body = new FormData();
          body.append("name", input);
          fetch(url, {
            method: "POST",
            body: body,
            credentials: "same-origin",
            headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
          })
            .then(function (response) {
              return response.json().then(function (json) { return { ok: response.ok, json: json }; });
            })
            .then(function (result) {
              if (result.ok) {
                callback({ value: String(result.json.value), text: result.json.text });
              } else {
                feedback.textContent = result.json.error || message("msgCreateFailed", "未能新建。");
                callback();
              }
            })
            .catch(function () {
              feedback.textContent = message("msgNetworkError", "网络错误，未能新建，请稍后再试。");
              callback();
            });
        },
        render: {
          option_create: function (data, escape) {
            var text = escapeHtml(message("msgCreate", "新建「{input}」"));
            return '<div class="create">' + text.split("{input}").join(escape(data.input)) + "</div>";
          },
          no_results: noResults,
        },
      });
      control.wrapper.after(feedback);
    });
  }

  function initSelectAll(root) {
    root.querySelectorAll("[data-select-all]").forEach(function (box) {
      box.addEventListener("change", function () {
        document.querySelectorAll('input[name="pk"][form="bulk-form"]').forEach(function (item) {
          item.checked = box.checked;
        });
      });
    });
  }

  function initConfirm(root) {
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
  }

  // <select data-autosubmit> (the language switch) submits its form when changed.
  function initAutosubmit(root) {
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.form) select.form.submit();
      });
    });
  }

  function initDatepickers(root) {
    var chinese = (document.documentElement.lang || "").indexOf("zh") === 0;
    root.querySelectorAll("input[data-datepicker]").forEach(function (input) {
      if (input._flatpickr) return;
      flatpickr(input, {
        dateFormat: "Y-m-d",
        allowInput: true,
        // Chinese offices plan their weeks from Monday.
        locale: chinese && flatpickr.l10ns.zh ? Object.assign({}, flatpickr.l10ns.zh, { firstDayOfWeek: 1 }) : "default",
      });
    });
  }

  function initMultiSelects(root) {
    // Long option lists (status, colour) as compact tag pickers instead of tall list boxes.
    root.querySelectorAll("select[multiple]:not([data-autocomplete-url])").forEach(function (select) {
      if (select.tomselect) return;
      new TomSelect(select, { plugins: ["remove_button"], hidePlaceholder: true });
    });
  }

  function init(root) {
    initDatepickers(root);
    initMultiSelects(root);
    initAutocomplete(root);
    initCreatable(root);
    initSelectAll(root);
    initConfirm(root);
    initAutosubmit(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (event) { init(event.detail.elt); });

  // A list's table is boosted so that sorting and paging swap only #results. A link in it to another
  // page (a record's detail) is a plain navigation: boosted, its page has no #results to swap in.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var link = event.detail.elt;
    if (!event.detail.boosted || link.tagName !== "A") return;
    var target = new URL(link.href, window.location.href);
    if (target.pathname !== window.location.pathname) {
      event.preventDefault();
      window.location.assign(target.href);
    }
  });
})();
