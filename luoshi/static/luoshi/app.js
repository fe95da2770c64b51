// Page behaviour without inline scripts (so a strict Content-Security-Policy can forbid them).
(function () {
  "use strict";

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
        render: { no_results: function () { return '<div class="no-results">无匹配结果</div>'; } },
      });
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

  function init(root) {
    initAutocomplete(root);
    initSelectAll(root);
    initConfirm(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (event) { init(event.detail.elt); });
})();
