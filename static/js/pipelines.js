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

  let said = 0; // which message is showing, so a late undo link never lands on a newer one

  function say(message, kind) {
    const line = document.getElementById("pipelines-status");
    line.textContent = message;
    line.className = "status-line" + (kind ? " status-" + kind : "");
    return ++said;
  }

  /** Says the change is saved, then adds "Undo" leading to the confirmation of undoing the
   * audit event this member's change just wrote (found through the configuration history). */
  async function sayWithUndo(message, eventKind, object) {
    const shown = say(message, "ok");
    const page = document.querySelector(".pipelines-page");
    const query = new URLSearchParams({ kind: eventKind, object, actor: page.dataset.actor, limit: "1" });
    const response = await api("GET", "audit-events?" + query);
    const event = response.ok && response.body.results[0];
    if (!event || !event.undoable || shown !== said) return;
    const back = new URLSearchParams({ next: window.location.pathname + window.location.search });
    const link = document.createElement("a");
    link.className = "undo-link";
    link.href = page.dataset.undoUrl.replace("EVENT_ID", encodeURIComponent(event.id)) + "?" + back;
    link.textContent = "Undo";
    document.getElementById("pipelines-status").append(" ", link);
  }

  function idsOf(list) {
    return Array.from(list.querySelectorAll(".function-row")).map((row) => row.dataset.functionId);
  }

  function restore(list, ids) {
    ids.forEach((id) => list.append(list.querySelector('[data-function-id="' + id + '"]')));
  }

  // ---- confirmation: what changes in production ---------------------------------------

  function rowOf(list, id) {
    return list.querySelector('[data-function-id="' + id + '"]');
  }

  /** How a function takes part in production runs: only enabled, published ones run. */
  function productionState(row, enabled) {
    if (!enabled) return "disabled: skipped";
    return row.dataset.liveVersion ? "v" + row.dataset.liveVersion + " live: runs" : "not published: skipped";
  }

  function orderList(list, ids, className) {
    const ol = document.createElement("ol");
    ol.className = className;
    ids.forEach((id) => {
      const row = rowOf(list, id);
      const item = document.createElement("li");
      const name = document.createElement("code");
      name.textContent = row.dataset.name;
      const state = document.createElement("span");
      state.className = "muted";
      state.textContent = " — " + productionState(row, !row.classList.contains("is-disabled"));
      item.append(name, state);
      ol.append(item);
    });
    return ol;
  }

  function column(title, content) {
    const box = document.createElement("div");
    const heading = document.createElement("h3");
    heading.textContent = title;
    box.append(heading, content);
    return box;
  }

  /** Resolves true when the member confirms, false on Cancel or Escape. */
  function confirmChange(title, text, changes) {
    const dialog = document.getElementById("confirm-dialog");
    document.getElementById("confirm-title").textContent = title;
    document.getElementById("confirm-text").textContent = text;
    document.getElementById("confirm-changes").replaceChildren(...changes);
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise((resolve) =>
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true }),
    );
  }

  function confirmOrder(list, previous, ids) {
    const trigger = list.dataset.trigger;
    return confirmChange(
      "Change the order of " + trigger + "?",
      "Each function receives what the one before it passed on, so the order can change the decision.",
      [column("Now", orderList(list, previous, "order-before")), column("After", orderList(list, ids, "order-after"))],
    );
  }

  function confirmToggle(row, enabled) {
    const trigger = row.closest(".function-list").dataset.trigger;
    const name = row.dataset.name;
    const effect = enabled
      ? row.dataset.liveVersion
        ? "From now on, " + trigger + " runs v" + row.dataset.liveVersion + " of " + name + " again."
        : name + " has no published version, so enabling it changes nothing until you publish."
      : row.dataset.liveVersion
        ? "From now on, " + trigger + " skips " + name + " (v" + row.dataset.liveVersion + " live): its checks no longer apply."
        : name + " has no published version: production is unchanged.";
    const change = document.createElement("p");
    change.className = "confirm-effect";
    change.textContent = productionState(row, !enabled) + " → " + productionState(row, enabled);
    return confirmChange((enabled ? "Enable " : "Disable ") + name + "?", effect, [change]);
  }

  async function saveOrder(list, previous) {
    const ids = idsOf(list);
    if (ids.join() === previous.join()) return;
    if (!(await confirmOrder(list, previous, ids))) {
      restore(list, previous);
      say("The order was not changed.");
      return;
    }
    const response = await api("PUT", "pipelines/" + list.dataset.trigger + "/order", { function_ids: ids });
    if (response.ok) {
      const trigger = list.dataset.trigger;
      sayWithUndo("New order of " + trigger + " saved: live for new runs now.", "pipeline.reordered", trigger);
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
      if (!(await confirmToggle(row, enabled))) {
        toggle.checked = !enabled;
        say("Nothing was changed.");
        return;
      }
      const response = await api("PATCH", "functions/" + row.dataset.functionId, { enabled });
      if (response.ok) {
        row.classList.toggle("is-disabled", !enabled);
        const name = row.querySelector(".function-name").textContent;
        const kind = enabled ? "function.enabled" : "function.disabled";
        sayWithUndo(name + (enabled ? " enabled: live for new runs now." : " disabled: live for new runs now."), kind, row.dataset.functionId);
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

  /** Deny on timeout follows the trigger (blocking ones fail closed) until the member
   * sets it by hand. */
  function wireTimeoutDefault(form) {
    const box = form.elements.terminate_on_timeout;
    let touched = false;
    const follow = () => {
      if (!touched) box.checked = form.elements.trigger.selectedOptions[0].dataset.blocking === "true";
    };
    box.addEventListener("change", () => (touched = true));
    form.elements.trigger.addEventListener("change", follow);
    follow();
  }

  function startNewFunctionForm(form) {
    const errorBox = document.getElementById("new-function-error");
    wireTimeoutDefault(form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const trigger = form.elements.trigger.value;
      const name = form.elements.name.value.trim();
      const terminate_on_timeout = form.elements.terminate_on_timeout.checked;
      const response = await api("POST", "functions", { trigger, name, code: skeleton(trigger), terminate_on_timeout });
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
