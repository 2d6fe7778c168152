/* The pipelines page (reorder by drag and drop or with the arrow buttons, enable and
 * disable) and the "New function" form. Talks to /api/v1/ with the member's session. */
(function () {
  "use strict";

  function api(method, path, body) {
    return window.genauthApi.request(method, "/api/v1/" + path, body);
  }

  function errorText(response) {
    const error = response.body && response.body.error;
    if (!error) return "the server answered HTTP " + response.status + ".";
    const field = error.details && error.details.field;
    return error.message + (field ? " (" + field + ")" : "");
  }

  // ---- pipelines page --------------------------------------------------------------------

  function say(message, kind) {
    const line = document.getElementById("pipelines-status");
    line.textContent = message;
    line.className = "status-line" + (kind ? " status-" + kind : "");
  }

  function idsOf(list) {
    return Array.from(list.querySelectorAll(".function-row")).map((row) => row.dataset.functionId);
  }

  function restore(list, ids) {
    ids.forEach((id) => list.append(list.querySelector('[data-function-id="' + id + '"]')));
  }

  async function saveOrder(list, previous) {
    const ids = idsOf(list);
    if (ids.join() === previous.join()) return;
    const response = await api("PUT", "pipelines/" + list.dataset.trigger + "/order", { function_ids: ids });
    if (response.ok) {
      say("New order of " + list.dataset.trigger + " saved: live for new runs now.", "ok");
    } else {
      restore(list, previous);
      say("The order was not saved: " + errorText(response), "error");
    }
  }

  function wireDragAndDrop(list) {
    let dragged = null;
    let before = [];
    list.addEventListener("dragstart", (event) => {
      dragged = event.target.closest(".function-row");
      if (!dragged) return;
      before = idsOf(list);
      dragged.classList.add("is-dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.dataset.functionId);
    });
    list.addEventListener("dragover", (event) => {
      const over = event.target.closest(".function-row");
      if (!dragged || !over || over.parentNode !== list) return;
      event.preventDefault();
      if (over === dragged) return;
      const box = over.getBoundingClientRect();
      const after = event.clientY > box.top + box.height / 2;
      list.insertBefore(dragged, after ? over.nextSibling : over);
    });
    list.addEventListener("drop", (event) => event.preventDefault());
    list.addEventListener("dragend", () => {
      if (!dragged) return;
      dragged.classList.remove("is-dragging");
      dragged = null;
      saveOrder(list, before);
    });
  }

  function wireMoveButtons(list) {
    list.addEventListener("click", (event) => {
      const button = event.target.closest(".move-up, .move-down");
      if (!button) return;
      const row = button.closest(".function-row");
      const previous = idsOf(list);
      if (button.classList.contains("move-up") && row.previousElementSibling) {
        list.insertBefore(row, row.previousElementSibling);
      } else if (button.classList.contains("move-down") && row.nextElementSibling) {
        list.insertBefore(row.nextElementSibling, row);
      }
      button.focus(); // keyboard users keep their place
      saveOrder(list, previous);
    });
  }

  function wireToggles(list) {
    list.addEventListener("change", async (event) => {
      const toggle = event.target.closest(".enable-toggle");
      if (!toggle) return;
      const row = toggle.closest(".function-row");
      const enabled = toggle.checked;
      const response = await api("PATCH", "functions/" + row.dataset.functionId, { enabled });
      if (response.ok) {
        row.classList.toggle("is-disabled", !enabled);
        say(row.querySelector(".function-name").textContent + (enabled ? " enabled." : " disabled."), "ok");
      } else {
        toggle.checked = !enabled;
        say("Not changed: " + errorText(response), "error");
      }
    });
  }

  function startPipelinesPage(page) {
    if (page.dataset.canWrite !== "true") return;
    page.querySelectorAll(".function-list").forEach((list) => {
      wireDragAndDrop(list);
      wireMoveButtons(list);
      wireToggles(list);
    });
  }

  // ---- new function --------------------------------------------------------------------

  function skeleton(trigger) {
    return [
      "/**",
      " * Describe what this function decides, for the next person who reads it.",
      " *",
      " * @param {GenAuth.User} user",
      ' * @param {GenAuth.Context<"' + trigger + '">} context',
      " * @param {GenAuth.Callback} callback",
      " */",
      "async function pipe(user, context, callback) {",
      "  // Deny with a message the end user may see:",
      '  //   return callback(new Error("Registration is closed."));',
      "  callback(null, user, context);",
      "}",
      "",
    ].join("\n");
  }

  function startNewFunctionForm(form) {
    const errorBox = document.getElementById("new-function-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const trigger = form.elements.trigger.value;
      const name = form.elements.name.value.trim();
      const response = await api("POST", "functions", { trigger, name, code: skeleton(trigger) });
      if (!response.ok) {
        errorBox.hidden = false;
        errorBox.textContent = "Not created: " + errorText(response);
        return;
      }
      window.location.assign(form.dataset.editorUrl.replace("FUNCTION_ID", encodeURIComponent(response.body.id)));
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const page = document.querySelector(".pipelines-page");
    if (page) startPipelinesPage(page);
    const form = document.getElementById("new-function-form");
    if (form) startNewFunctionForm(form);
  });
})();
