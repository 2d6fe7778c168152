/* The function editor: Monaco with the contract's IntelliSense, Save draft (Ctrl/Cmd+S),
 * an unsaved-change guard, publish, release history with a diff view, rollback and
 * the function's settings. Talks to /api/v1/ with the member's session. */
(function () {
  "use strict";

  const data = JSON.parse(document.getElementById("editor-data").textContent);
  const fn = data.function;
  const canWrite = data.can_write;
  const $ = (id) => document.getElementById(id);
  const status = $("editor-status");
  let savedCode = fn.code;
  let releases = [];
  let editor = null;
  let model = null;
  let diffEditor = null;

  /** JSON request to the API; never throws: {ok, status, body}. */
  function api(method, path, body, options) {
    const url = options && options.absolute ? path : data.urls.api + path;
    return window.genauthApi.request(method, url, body);
  }

  function errorText(response) {
    const error = response.body && response.body.error;
    if (!error) return "Request failed (HTTP " + response.status + ").";
    const details = error.details || {};
    const where = details.line ? " (line " + details.line + ")" : details.field ? " (" + details.field + ")" : "";
    return error.message + where;
  }

  function say(message, kind) {
    status.textContent = message;
    status.className = "status-line" + (kind ? " status-" + kind : "");
  }

  function formatTime(iso) {
    const date = new Date(iso);
    return isNaN(date) ? "" : date.toLocaleString();
  }

  // ---- state shown in the header ------------------------------------------------------

  function isDirty() {
    return model !== null && model.getValue() !== savedCode;
  }

  function refreshBadges() {
    const live = $("live-badge");
    live.textContent = fn.live_version ? "v" + fn.live_version + " live" : "not published";
    live.className = "badge " + (fn.live_version ? "badge-live" : "badge-queued");
    $("draft-badge").hidden = !(fn.live_version && fn.has_unpublished_changes);
    $("dirty-badge").hidden = !isDirty();
    $("function-name").textContent = fn.name;
  }

  function applyFunction(updated) {
    Object.assign(fn, updated);
    refreshBadges();
    fillSettings();
  }

  // ---- Monaco ---------------------------------------------------------------------------

  function envDeclaration(names) {
    const fields = names.map((name) => "  readonly " + name + ": string;").join("\n");
    return (
      "/** The tenant's env vars and secrets (frozen). */\n" +
      "declare const env: {\n" + fields + "\n  readonly [name: string]: string | undefined;\n};\n"
    );
  }

  async function configureLanguage() {
    const ts = monaco.typescript;
    const defaults = ts.javascriptDefaults;
    defaults.setCompilerOptions({
      target: ts.ScriptTarget.ES2020,
      lib: ["es2022"], // no DOM: functions run in a bare V8 isolate
      allowJs: true,
      allowNonTsExtensions: true,
      checkJs: false,
    });
    // Syntax errors are marked while typing; semantic checks of plain JS would be noise.
    defaults.setDiagnosticsOptions({ noSemanticValidation: true, noSyntaxValidation: false });
    defaults.addExtraLib(envDeclaration(data.env_names), "file:///genauth/env.d.ts");

    const response = await fetch(data.urls.contract, { credentials: "same-origin" });
    if (response.ok) defaults.addExtraLib(await response.text(), "file:///genauth/contract.d.ts");
  }

  function typeHints() {
    return (
      "/**\n" +
      " * @param {GenAuth.User} user\n" +
      " * @param {GenAuth.Context<" + JSON.stringify(fn.trigger) + ">} context\n" +
      " * @param {GenAuth.Callback} callback\n" +
      " */\n"
    );
  }

  /** Where the line of `function pipe(` starts, when its parameters have no contract types. */
  function untypedPipe(code) {
    const match = code.match(/^[ \t]*(async\s+)?function\s+pipe\s*\(/m);
    return match && !/@param\s+\{GenAuth\./.test(code) ? match.index : -1;
  }

  function addTypeHints() {
    const offset = untypedPipe(model.getValue());
    if (offset < 0) return;
    const position = model.getPositionAt(offset);
    editor.executeEdits("type-hints", [
      { range: new monaco.Range(position.lineNumber, 1, position.lineNumber, 1), text: typeHints() },
    ]);
    editor.focus();
  }

  // ---- completions for untyped code --------------------------------------------------------
  // A plain JS file types pipe()'s parameters only through JSDoc. Rather than write that
  // comment into the tenant's code, the editor keeps a hidden copy of the model with the
  // JSDoc in front of pipe() and asks the TypeScript worker for the members of `user.` and
  // `context.` there. Code that already has the JSDoc is served by Monaco itself.

  const MEMBER_ACCESS = /\b(user|context)(\s*\.\s*[\w$]+)*\s*\.\s*[\w$]*$/;
  let typedModel = null;

  /** The hidden typed copy and where a position of the real model lands in it. */
  function typedCopy() {
    const code = model.getValue();
    const at = untypedPipe(code);
    if (at < 0) return null;
    const header = typeHints();
    const text = code.slice(0, at) + header + code.slice(at);
    if (!typedModel) typedModel = monaco.editor.createModel(text, "javascript", monaco.Uri.parse("file:///genauth/typed/" + fn.id + ".js"));
    else if (typedModel.getValue() !== text) typedModel.setValue(text);
    return { model: typedModel, shift: (offset) => (offset >= at ? offset + header.length : offset) };
  }

  const COMPLETION_KINDS = {
    method: "Method", function: "Function", property: "Property", getter: "Property", setter: "Property",
    var: "Variable", let: "Variable", const: "Constant", class: "Class", interface: "Interface", keyword: "Keyword",
  };

  function completionKind(kind) {
    return monaco.languages.CompletionItemKind[COMPLETION_KINDS[kind] || "Property"];
  }

  async function typedWorker(copy) {
    const getWorker = await monaco.typescript.getJavaScriptWorker();
    return getWorker(copy.model.uri);
  }

  async function provideMemberCompletions(target, position) {
    if (target !== model) return undefined;
    const line = target.getLineContent(position.lineNumber).slice(0, position.column - 1);
    if (!MEMBER_ACCESS.test(line)) return undefined;
    const copy = typedCopy();
    if (!copy) return undefined;
    const fileName = copy.model.uri.toString();
    const offset = copy.shift(target.getOffsetAt(position));
    const worker = await typedWorker(copy);
    const info = await worker.getCompletionsAtPosition(fileName, offset);
    const word = target.getWordUntilPosition(position);
    const range = new monaco.Range(position.lineNumber, word.startColumn, position.lineNumber, word.endColumn);
    // "warning" entries are every identifier of the file, offered by TS for untyped JS.
    const entries = ((info && info.entries) || []).filter((entry) => entry.kind !== "warning");
    return {
      suggestions: entries.map((entry) => ({
        label: entry.name,
        insertText: entry.name,
        kind: completionKind(entry.kind),
        sortText: entry.sortText,
        range,
        genauth: { fileName, offset },
      })),
    };
  }

  async function resolveMemberCompletion(item) {
    if (!item.genauth) return item;
    const worker = await typedWorker({ model: typedModel });
    const details = await worker.getCompletionEntryDetails(item.genauth.fileName, item.genauth.offset, item.label);
    if (!details) return item;
    const text = (parts) => (parts || []).map((part) => part.text).join("");
    item.detail = text(details.displayParts);
    item.documentation = text(details.documentation);
    return item;
  }

  function offerContractCompletions() {
    monaco.languages.registerCompletionItemProvider("javascript", {
      triggerCharacters: ["."],
      provideCompletionItems: provideMemberCompletions,
      resolveCompletionItem: resolveMemberCompletion,
    });
  }

  function createEditor() {
    const container = $("code-editor");
    container.replaceChildren();
    container.removeAttribute("data-loading");
    model = monaco.editor.createModel(fn.code, "javascript", monaco.Uri.parse("file:///functions/" + fn.id + ".js"));
    editor = monaco.editor.create(container, {
      model,
      readOnly: !canWrite,
      automaticLayout: true,
      minimap: { enabled: false },
      fontSize: 13,
      tabSize: 2,
      scrollBeyondLastLine: false,
      fixedOverflowWidgets: true,
      ariaLabel: "Code of " + fn.name,
    });
    window.genauthEditor = editor; // handy for debugging and browser tests
    model.onDidChangeContent(() => refreshBadges());
    offerContractCompletions();
    monaco.editor.onDidChangeMarkers((uris) => {
      if (uris.some((uri) => uri.toString() === model.uri.toString())) showProblems();
    });
    if (canWrite) {
      editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, () => save());
      editor.addAction({
        id: "genauth.addTypeHints",
        label: "Add type hints to pipe()",
        contextMenuGroupId: "1_modification",
        run: addTypeHints,
      });
    }
  }

  function syntaxErrors() {
    return monaco.editor
      .getModelMarkers({ resource: model.uri })
      .filter((marker) => marker.severity === monaco.MarkerSeverity.Error);
  }

  function jumpTo(line, column) {
    editor.revealLineInCenter(line);
    editor.setPosition({ lineNumber: line, column: column || 1 });
    editor.focus();
  }

  function showProblems() {
    const box = $("problems");
    const errors = syntaxErrors();
    box.replaceChildren(
      ...errors.slice(0, 5).map((marker) => {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "problem error-link";
        button.textContent = "Syntax error on line " + marker.startLineNumber + ": " + marker.message;
        button.addEventListener("click", () => jumpTo(marker.startLineNumber, marker.startColumn));
        return button;
      }),
    );
  }

  // ---- save, publish --------------------------------------------------------------------

  function refuseSyntaxErrors(action) {
    const errors = syntaxErrors();
    if (!errors.length) return false;
    say("Fix the syntax error on line " + errors[0].startLineNumber + " before " + action + ".", "error");
    jumpTo(errors[0].startLineNumber, errors[0].startColumn);
    return true;
  }

  function jumpToErrorLine(response) {
    const line = response.body && response.body.error && response.body.error.details && response.body.error.details.line;
    if (line) jumpTo(line, 1);
  }

  async function save() {
    if (!canWrite || !model) return false;
    if (refuseSyntaxErrors("saving")) return false;
    const code = model.getValue();
    const comment = $("save-comment").value.trim();
    if (!isDirty()) {
      say("Nothing to save: the draft is unchanged.");
      return true;
    }
    say("Saving…");
    const response = await api("PATCH", "functions/" + fn.id, { code, comment });
    if (!response.ok) {
      say("Not saved: " + errorText(response), "error");
      jumpToErrorLine(response);
      return false;
    }
    savedCode = code;
    $("save-comment").value = "";
    applyFunction(response.body);
    say("Draft saved at " + new Date().toLocaleTimeString() + ".", "ok");
    return true;
  }

  async function publish(comment) {
    // Unsaved code goes with the publish: the server saves it as the draft and releases it
    // in one transaction, so a refused publish leaves the saved draft as it was.
    const body = { comment };
    if (isDirty()) {
      if (refuseSyntaxErrors("publishing")) return;
      body.code = model.getValue();
    }
    say("Publishing…");
    const response = await api("POST", "functions/" + fn.id + "/publish", body);
    if (!response.ok) {
      say("Not published: " + errorText(response), "error");
      jumpToErrorLine(response);
      return;
    }
    if (body.code !== undefined) savedCode = body.code;
    await reloadFunction();
    say("Published v" + (response.body.version || fn.live_version) + ": live for new runs now.", "ok");
    loadReleases();
  }

  async function reloadFunction() {
    const response = await api("GET", "functions/" + fn.id);
    if (!response.ok) return;
    const draftChanged = response.body.code !== savedCode;
    applyFunction(response.body);
    if (draftChanged && !isDirty()) {
      savedCode = response.body.code;
      model.setValue(response.body.code);
    } else if (draftChanged) {
      savedCode = response.body.code;
      say("The saved draft changed on the server; your unsaved edits are kept in the editor.", "warning");
    }
    refreshBadges();
  }

  function openDialog(dialog, onConfirm) {
    dialog.returnValue = "";
    dialog.showModal();
    dialog.addEventListener(
      "close",
      () => {
        if (dialog.returnValue === "confirm") onConfirm();
      },
      { once: true },
    );
  }

  // ---- history, diff, rollback -------------------------------------------------------------

  async function loadReleases() {
    const response = await api("GET", "functions/" + fn.id + "/versions");
    const rows = $("release-rows");
    if (!response.ok) {
      rows.replaceChildren(row([cell(errorText(response), { colSpan: 4 })]));
      return;
    }
    releases = Array.isArray(response.body) ? response.body : response.body.results || [];
    renderReleases();
    fillCompareOptions();
  }

  function cell(text, props) {
    const td = document.createElement("td");
    td.textContent = text;
    Object.assign(td, props || {});
    return td;
  }

  function row(cells, props) {
    const tr = document.createElement("tr");
    Object.assign(tr, props || {});
    tr.append(...cells);
    return tr;
  }

  function smallButton(text, className, onClick) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = className;
    button.textContent = text;
    button.addEventListener("click", onClick);
    return button;
  }

  function renderReleases() {
    const rows = $("release-rows");
    if (!releases.length) {
      rows.replaceChildren(row([cell("No releases yet: publish the draft to make it live.", { colSpan: 4, className: "muted" })]));
      return;
    }
    rows.replaceChildren(
      ...releases.map((release) => {
        const live = release.live || release.version === fn.live_version;
        const version = cell("", { className: "release-version" });
        version.append(Object.assign(document.createElement("strong"), { textContent: "v" + release.version }));
        if (live) version.append(" ", Object.assign(document.createElement("span"), { className: "badge badge-live", textContent: "live" }));
        version.append(
          Object.assign(document.createElement("span"), {
            className: "release-when muted",
            textContent: formatTime(release.created_at),
            title: release.created_at || "",
          }),
        );
        const buttons = Object.assign(document.createElement("div"), { className: "release-actions" });
        buttons.append(smallButton("Diff with draft", "link-button diff-release", () => showDiff("v" + release.version, "draft")));
        if (canWrite && !live) buttons.append(smallButton("Roll back", "link-button rollback-release", () => confirmRollback(release)));
        const actions = cell("");
        actions.append(buttons);
        return row([version, cell(release.author || ""), cell(release.comment || "", { className: "release-comment" }), actions], {
          className: "release-row" + (live ? " is-live" : ""),
        });
      }),
    );
    rows.querySelectorAll("tr").forEach((tr, index) => (tr.dataset.version = releases[index].version));
  }

  /** The live release on the left and the draft on the right, unless the member chose
   * other sides; with nothing released there is nothing to compare. */
  function fillCompareOptions() {
    const choices = [["draft", "Draft (editor)"]].concat(releases.map((r) => ["v" + r.version, "v" + r.version + (r.version === fn.live_version ? " (live)" : "")]));
    const live = fn.live_version ? "v" + fn.live_version : releases.length ? "v" + releases[0].version : "draft";
    const defaults = [live, "draft"];
    [$("compare-left"), $("compare-right")].forEach((select, index) => {
      const previous = select.dataset.chosen ? select.value : "";
      select.replaceChildren(...choices.map(([value, label]) => new Option(label, value)));
      select.value = choices.some(([value]) => value === previous) ? previous : defaults[index];
    });
    $("compare-button").disabled = !releases.length;
  }

  async function releaseCode(version) {
    const known = releases.find((release) => release.version === version);
    if (known && typeof known.code === "string") return known.code;
    const response = await api("GET", "functions/" + fn.id + "/versions/" + version);
    if (!response.ok) throw new Error(errorText(response));
    return response.body.code;
  }

  async function sideModel(side) {
    if (side === "draft") return model;
    const version = Number(side.slice(1));
    const uri = monaco.Uri.parse("file:///releases/" + fn.id + "/v" + version + ".js");
    return monaco.editor.getModel(uri) || monaco.editor.createModel(await releaseCode(version), "javascript", uri);
  }

  function sideLabel(side) {
    return side === "draft" ? "the draft" : side;
  }

  async function showDiff(left, right) {
    let original;
    let modified;
    try {
      [original, modified] = await Promise.all([sideModel(left), sideModel(right)]);
    } catch (error) {
      say("Could not load the release: " + error.message, "error");
      return;
    }
    const section = $("diff-section");
    section.hidden = false;
    if (!diffEditor) {
      diffEditor = monaco.editor.createDiffEditor($("diff-editor"), {
        readOnly: true,
        originalEditable: false,
        automaticLayout: true,
        renderSideBySide: true,
        minimap: { enabled: false },
        scrollBeyondLastLine: false,
      });
      window.genauthDiffEditor = diffEditor;
    }
    diffEditor.setModel({ original, modified });
    $("diff-title").textContent = "Changes from " + sideLabel(left) + " to " + sideLabel(right);
    $("compare-left").value = left;
    $("compare-right").value = right;
    section.scrollIntoView({ block: "nearest" });
  }

  function confirmRollback(release) {
    const dialog = $("rollback-dialog");
    $("rollback-title").textContent = "Roll back to v" + release.version + "?";
    $("rollback-text").textContent =
      "A copy of v" + release.version + " is published as a new version and is live for new runs at once. " +
      "Later versions stay in the history.";
    openDialog(dialog, () => rollback(release.version));
  }

  async function rollback(version) {
    say("Rolling back…");
    const response = await api("POST", "functions/" + fn.id + "/rollback", { version });
    if (!response.ok) {
      say("Not rolled back: " + errorText(response), "error");
      return;
    }
    await reloadFunction();
    say("Rolled back: v" + (response.body.version || fn.live_version) + " (a copy of v" + version + ") is live.", "ok");
    loadReleases();
  }

  // ---- settings --------------------------------------------------------------------------

  function fillSettings() {
    $("setting-name").value = fn.name;
    $("setting-description").value = fn.description || "";
    $("setting-timeout").value = fn.timeout_ms;
    $("setting-terminate").checked = fn.terminate_on_timeout;
    $("setting-async").checked = fn.is_async;
    $("setting-enabled").checked = fn.enabled;
  }

  async function saveSettings(event) {
    event.preventDefault();
    const errorBox = $("settings-error");
    const changes = {
      name: $("setting-name").value.trim(),
      description: $("setting-description").value,
      timeout_ms: Number($("setting-timeout").value),
      terminate_on_timeout: $("setting-terminate").checked,
      is_async: $("setting-async").checked,
      enabled: $("setting-enabled").checked,
    };
    const response = await api("PATCH", "functions/" + fn.id, changes);
    errorBox.hidden = response.ok;
    if (!response.ok) {
      errorBox.textContent = errorText(response);
      return;
    }
    applyFunction(response.body);
    document.title = fn.name + " | GenAuth Pipeline";
    say("Settings saved.", "ok");
  }

  // ---- page wiring -----------------------------------------------------------------------

  function wireTabs() {
    const tabs = document.querySelectorAll(".side-tabs [role=tab]");
    tabs.forEach((tab) =>
      tab.addEventListener("click", () => {
        tabs.forEach((other) => {
          const selected = other === tab;
          other.setAttribute("aria-selected", String(selected));
          $(other.getAttribute("aria-controls")).hidden = !selected;
        });
      }),
    );
  }

  function wireToolbar() {
    if (!canWrite) return;
    $("save-button").addEventListener("click", () => save());
    $("publish-button").addEventListener("click", () => {
      $("publish-warning").hidden = !isDirty();
      $("publish-comment").value = "";
      openDialog($("publish-dialog"), () => publish($("publish-comment").value.trim()));
    });
    $("settings-form").addEventListener("submit", saveSettings);
    // Ctrl/Cmd+S anywhere on the page saves the draft instead of the browser's "Save page".
    document.addEventListener("keydown", (event) => {
      // Inside Monaco its own Ctrl/Cmd+S command has already run and prevented the default.
      if (!event.defaultPrevented && (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
        event.preventDefault();
        save();
      }
    });
  }

  // ---- layout: full width, resizable split ---------------------------------------------

  const SIDEBAR_KEY = "django.admin.navSidebarIsOpen";
  const SPLIT_KEY = "genauth.editor.codeShare";

  /** Starts with the admin's sidebar closed without changing the member's choice for
   * other pages (the admin's own toggle still opens it here). */
  function collapseSidebar() {
    const main = $("main");
    const toggle = $("toggle-nav-sidebar");
    if (!main || !toggle || !main.classList.contains("shifted")) return;
    const remembered = localStorage.getItem(SIDEBAR_KEY);
    toggle.click();
    if (remembered === null) localStorage.removeItem(SIDEBAR_KEY);
    else localStorage.setItem(SIDEBAR_KEY, remembered);
  }

  function setCodeShare(percent) {
    const share = Math.min(80, Math.max(30, percent));
    $("editor-grid").style.setProperty("--code-share", share.toFixed(1) + "%");
    $("split-handle").setAttribute("aria-valuenow", String(Math.round(share)));
    return share;
  }

  function wireSplit() {
    const grid = $("editor-grid");
    const handle = $("split-handle");
    const kept = Number(localStorage.getItem(SPLIT_KEY));
    let share = setCodeShare(kept || 60);
    handle.setAttribute("aria-valuemin", "30");
    handle.setAttribute("aria-valuemax", "80");
    const remember = () => localStorage.setItem(SPLIT_KEY, String(share));
    handle.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      handle.setPointerCapture(event.pointerId);
      handle.classList.add("is-dragging");
      document.body.classList.add("is-resizing");
    });
    handle.addEventListener("pointermove", (event) => {
      if (!handle.hasPointerCapture(event.pointerId)) return;
      const box = grid.getBoundingClientRect();
      share = setCodeShare(((event.clientX - box.left) / box.width) * 100);
    });
    const stop = (event) => {
      if (!handle.hasPointerCapture(event.pointerId)) return;
      handle.releasePointerCapture(event.pointerId);
      handle.classList.remove("is-dragging");
      document.body.classList.remove("is-resizing");
      remember();
    };
    handle.addEventListener("pointerup", stop);
    handle.addEventListener("pointercancel", stop);
    handle.addEventListener("keydown", (event) => {
      const step = { ArrowLeft: -5, ArrowRight: 5 }[event.key];
      if (!step) return;
      event.preventDefault();
      share = setCodeShare(share + step);
      remember();
    });
  }

  function wireGuard() {
    window.addEventListener("beforeunload", (event) => {
      if (!isDirty()) return;
      event.preventDefault();
      event.returnValue = "";
    });
  }

  async function start() {
    collapseSidebar();
    wireSplit();
    wireTabs();
    wireToolbar();
    wireGuard();
    fillSettings();
    $("compare-button").addEventListener("click", () => showDiff($("compare-left").value, $("compare-right").value));
    [$("compare-left"), $("compare-right")].forEach((select) => select.addEventListener("change", () => (select.dataset.chosen = "true")));
    $("diff-close").addEventListener("click", () => ($("diff-section").hidden = true));
    if (typeof monaco === "undefined") {
      say("The code editor could not be loaded (run `make assets`).", "error");
      return;
    }
    self.MonacoEnvironment = {
      getWorkerUrl: (_moduleId, label) =>
        data.urls.vendor + (label === "typescript" || label === "javascript" ? "ts.worker.js" : "editor.worker.js"),
    };
    await configureLanguage();
    createEditor();
    refreshBadges();
    window.GenAuthTestPanel.mount({ data, api, getCode: () => model.getValue(), jumpTo });
    loadReleases();
    document.body.dataset.editorReady = "true";
  }

  start();
})();
