/* The editor's test-run panel: an editable sample payload per trigger, "Run on draft",
 * "Run whole pipeline", and the result rendered for a person (decision, what changed,
 * custom data, token claims, console output, errors with their line, durations).
 * Mounted by editor.js: GenAuthTestPanel.mount({data, api, getCode, jumpTo}). */
(function () {
  "use strict";

  const baseContext = {
    requestId: "req_8f14e45fceea167a",
    ip: "203.0.113.7",
    userAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
    protocol: "oidc",
    connection: "email-password",
    application: { id: "app_6512bd43d9caa6e0", name: "Acme web" },
    userPoolId: "pool_c20ad4d76fe97759",
    request: { hostname: "login.acme.example", path: "/oidc/auth", query: { client_id: "acme-web" } },
  };
  const knownUser = {
    id: "usr_1679091c5a880faf",
    username: "jane",
    email: "jane@example.com",
    emailVerified: true,
    phone: "+14155550123",
    phoneVerified: false,
    name: "Jane Doe",
    givenName: "Jane",
    familyName: "Doe",
    loginsCount: 12,
    lastLogin: "2025-05-02T08:14:11Z",
    signedUp: "2024-11-19T16:03:52Z",
    blocked: false,
    roles: ["member"],
    customData: { plan: "pro" },
  };
  const registration = { email: "jane@example.com", username: "jane", name: "Jane Doe", phone: "+14155550123" };
  const tokenContext = Object.assign({}, baseContext, {
    clientId: "acme-web",
    grantType: "authorization_code",
    scope: "openid profile email",
    audience: "https://api.acme.example",
  });

  // Realistic inputs per trigger, as an identity provider would send them.
  const SAMPLES = {
    PRE_REGISTER: { user: registration, context: Object.assign({}, baseContext, { registerMethod: "email-password" }) },
    POST_REGISTER: {
      user: Object.assign({}, registration, { id: "usr_1679091c5a880faf", emailVerified: false, signedUp: "2025-05-02T08:14:11Z" }),
      context: Object.assign({}, baseContext, { registerMethod: "email-password" }),
    },
    PRE_AUTHENTICATION: { user: knownUser, context: Object.assign({}, baseContext, { loginMethod: "password" }) },
    POST_AUTHENTICATION: { user: knownUser, context: Object.assign({}, baseContext, { loginMethod: "password" }) },
    PRE_OIDC_ID_TOKEN_ISSUED: { user: knownUser, context: tokenContext },
    PRE_OIDC_ACCESS_TOKEN_ISSUED: {
      user: knownUser,
      context: Object.assign({}, tokenContext, { accessTokenTarget: "user" }),
    },
    PRE_COMPLETE_USER_INFO: {
      user: knownUser,
      context: Object.assign({}, baseContext, { fields: { company: "Acme Corp", jobTitle: "Engineer" } }),
    },
    PRE_MFA_VERIFY: { user: knownUser, context: Object.assign({}, baseContext, { mfa: { factor: "sms", phone: "+14155550123" } }) },
    POST_MFA_VERIFY: { user: knownUser, context: Object.assign({}, baseContext, { mfa: { factor: "sms", phone: "+14155550123" } }) },
  };

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else if (value !== undefined && value !== null) node.setAttribute(key, value);
    });
    (children || []).forEach((child) => child && node.append(child));
    return node;
  }

  function pretty(value) {
    return value === undefined ? "—" : JSON.stringify(value);
  }

  function isPlainObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  /** Added, changed and removed fields between two objects, as dotted paths. */
  function objectDiff(before, after, prefix) {
    const changes = [];
    const keys = new Set([...Object.keys(before || {}), ...Object.keys(after || {})]);
    keys.forEach((key) => {
      const path = prefix ? prefix + "." + key : key;
      const had = before && Object.prototype.hasOwnProperty.call(before, key);
      const has = after && Object.prototype.hasOwnProperty.call(after, key);
      if (had && !has) changes.push({ kind: "removed", path, before: before[key] });
      else if (!had && has) changes.push({ kind: "added", path, after: after[key] });
      else if (isPlainObject(before[key]) && isPlainObject(after[key])) changes.push(...objectDiff(before[key], after[key], path));
      else if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) changes.push({ kind: "changed", path, before: before[key], after: after[key] });
    });
    return changes;
  }

  function diffBlock(title, before, after) {
    const changes = objectDiff(before, after, "");
    const section = el("section", { className: "result-block diff-block" }, [el("h4", { text: title })]);
    if (!changes.length) {
      section.append(el("p", { className: "muted", text: "No changes." }));
      return section;
    }
    const list = el("ul", { className: "change-list" });
    changes.forEach((change) => {
      const detail =
        change.kind === "added" ? pretty(change.after)
          : change.kind === "removed" ? pretty(change.before)
            : pretty(change.before) + " → " + pretty(change.after);
      list.append(
        el("li", { className: "change change-" + change.kind }, [
          el("span", { className: "change-kind", text: change.kind }),
          el("code", { className: "change-path", text: change.path }),
          el("span", { className: "change-value", text: detail }),
        ]),
      );
    });
    section.append(list);
    return section;
  }

  function keyValueBlock(title, entries, emptyText) {
    const section = el("section", { className: "result-block" }, [el("h4", { text: title })]);
    if (!entries.length) {
      section.append(el("p", { className: "muted", text: emptyText }));
      return section;
    }
    const list = el("dl", { className: "kv" });
    entries.forEach(([key, value]) => list.append(el("dt", { text: key }), el("dd", { text: value })));
    section.append(list);
    return section;
  }

  function claimsEntries(label, claims) {
    const entries = [];
    Object.entries((claims && claims.set) || {}).forEach(([key, value]) => entries.push([label + " set " + key, pretty(value)]));
    ((claims && claims.remove) || []).forEach((key) => entries.push([label + " remove " + key, "removed"]));
    return entries;
  }

  function mount(options) {
    const { data, api, getCode, jumpTo } = options;
    const trigger = data.function.trigger;
    const fields = {
      user: document.getElementById("payload-user"),
      context: document.getElementById("payload-context"),
    };
    if (!fields.user) return null; // viewers get no panel
    const runDraft = document.getElementById("run-draft");
    const runPipeline = document.getElementById("run-pipeline");
    const result = document.getElementById("test-result");
    const replayNote = document.getElementById("replay-note");
    let requestCounter = 0;

    function fill(payload) {
      fields.user.value = JSON.stringify(payload.user, null, 2);
      fields.context.value = JSON.stringify(payload.context, null, 2);
      validate();
    }

    function parseField(name) {
      const errorNode = document.getElementById("payload-" + name + "-error");
      let value;
      let message = "";
      try {
        value = JSON.parse(fields[name].value);
        if (!isPlainObject(value)) message = name + " must be a JSON object.";
      } catch (error) {
        message = name + ": " + error.message;
      }
      errorNode.hidden = !message;
      errorNode.textContent = message;
      fields[name].setAttribute("aria-invalid", message ? "true" : "false");
      return message ? undefined : value;
    }

    function validate() {
      const payload = { user: parseField("user"), context: parseField("context") };
      const valid = payload.user !== undefined && payload.context !== undefined;
      runDraft.disabled = runPipeline.disabled = !valid;
      return valid ? payload : null;
    }

    function stepRow(step) {
      const row = el("li", { className: "step step-" + step.status }, [
        el("div", { className: "step-head" }, [
          el("span", { className: "step-name", text: step.name + (step.version ? " v" + step.version : " (draft)") }),
          el("span", { className: "badge badge-" + step.status, text: step.status }),
          el("span", { className: "muted step-duration", text: Number(step.duration_ms || 0).toFixed(1) + " ms" }),
        ]),
      ]);
      if (step.error) {
        const error = step.error;
        const where = error.line ? " (line " + error.line + (error.column ? ", column " + error.column : "") + ")" : "";
        const text = (error.name ? error.name + ": " : "") + error.message + where;
        const ours = !step.function_id || step.function_id === data.function.id;
        const node = error.line && ours
          ? el("button", { type: "button", className: "step-error error-link", title: "Show this line in the editor", text })
          : el("p", { className: "step-error", text });
        if (error.line && ours) node.addEventListener("click", () => jumpTo(error.line, error.column || 1));
        row.append(node);
      }
      const logs = step.logs || [];
      if (logs.length) {
        const list = el("ol", { className: "console-output" });
        logs.forEach((entry) =>
          list.append(
            el("li", { className: "log log-" + entry.level }, [
              el("span", { className: "log-level", text: entry.level }),
              el("span", { className: "log-time muted", text: Number(entry.t_ms || 0).toFixed(1) + " ms" }),
              el("span", { className: "log-message", text: entry.message }),
            ]),
          ),
        );
        row.append(list);
      }
      return row;
    }

    function render(response, input, label) {
      const denied = response.decision === "deny";
      const head = el("div", { className: "result-head" }, [
        el("span", { className: "badge decision badge-" + response.decision, id: "test-decision", text: response.decision }),
        el("span", { className: "muted", text: label + " · " + Number(response.duration_ms || 0).toFixed(1) + " ms" }),
      ]);
      const blocks = [head];
      if (denied && response.error) {
        blocks.push(
          el("div", { className: "deny-box", id: "test-deny" }, [
            el("code", { className: "deny-code", text: response.error.code }),
            el("span", { className: "deny-message", text: response.error.message }),
            response.error.function ? el("span", { className: "muted", text: " — " + response.error.function }) : null,
          ]),
        );
      }
      const failOpen = failOpenWarning(response);
      if (failOpen) blocks.push(failOpen);
      const steps = el("ol", { className: "steps" });
      (response.steps || []).forEach((step) => steps.append(stepRow(step)));
      blocks.push(el("section", { className: "result-block" }, [el("h4", { text: "Steps" }), steps]));
      if (!denied) {
        blocks.push(diffBlock("user changes", input.user, response.user));
        blocks.push(diffBlock("context changes", input.context, response.context));
      }
      blocks.push(
        keyValueBlock(
          "Custom data",
          Object.entries(response.custom_data || {}).map(([key, value]) => [key, pretty(value)]),
          "None added.",
        ),
      );
      const claims = claimsEntries("ID token", response.id_token_claims).concat(claimsEntries("access token", response.access_token_claims));
      blocks.push(keyValueBlock("Token claims", claims, "No claims set or removed."));
      result.replaceChildren(...blocks);
    }

    /** An allow although a step timed out: the gate failed open. */
    function failOpenWarning(response) {
      const timedOut = (response.steps || []).filter((step) => step.status === "timeout");
      if (response.decision !== "allow" || !timedOut.length) return null;
      const names = timedOut.map((step) => step.name).join(", ");
      const settings = el("button", { type: "button", className: "link-button", text: "Open Settings" });
      settings.addEventListener("click", () => document.getElementById("tab-settings").click());
      return el("div", { className: "fail-open-warning", id: "fail-open-warning", role: "alert" }, [
        el("strong", { text: "Failed open: " }),
        document.createTextNode(
          names + " timed out and was skipped, yet the run was allowed. On a security gate, a " +
            "hung or slow function lets everyone through unless the function denies on timeout. ",
        ),
        settings,
      ]);
    }

    function renderFailure(body, status) {
      const error = (body && body.error) || { code: "http_" + status, message: "The test could not run (HTTP " + status + ")." };
      result.replaceChildren(
        el("div", { className: "errornote", role: "alert" }, [el("strong", { text: error.code + ": " }), document.createTextNode(error.message)]),
      );
    }

    function savePayload(payload) {
      // Best effort: the panel still works if the payload cannot be kept.
      api("POST", data.urls.test_payload, payload, { absolute: true }).catch(() => {});
    }

    async function run(kind) {
      const payload = validate();
      if (!payload) return;
      const mine = ++requestCounter;
      const path = kind === "draft"
        ? "functions/" + data.function.id + "/test"
        : "pipelines/" + trigger + "/test";
      const body = kind === "draft" ? { user: payload.user, context: payload.context, code: getCode() } : payload;
      result.setAttribute("aria-busy", "true");
      result.classList.add("is-running");
      const response = await api("POST", path, body);
      if (mine !== requestCounter) return; // a newer run has started: drop this answer
      result.removeAttribute("aria-busy");
      result.classList.remove("is-running");
      if (response.ok) {
        render(response.body, payload, kind === "draft" ? "draft of " + data.function.name : "whole " + trigger + " pipeline");
        savePayload(payload);
      } else {
        renderFailure(response.body, response.status);
      }
    }

    async function loadReplay(runId) {
      const response = await api("GET", "runs/" + encodeURIComponent(runId));
      replayNote.hidden = false;
      if (response.ok && response.body.input) {
        fill({ user: response.body.input.user || {}, context: response.body.input.context || {} });
        replayNote.textContent = "Loaded the input of run " + runId + ". Run it on the draft to compare.";
      } else {
        replayNote.textContent = "Run " + runId + " could not be loaded; showing the last payload instead.";
      }
    }

    const kept = data.function.test_payload || {};
    fill(isPlainObject(kept.user) && isPlainObject(kept.context) ? kept : SAMPLES[trigger] || SAMPLES.PRE_REGISTER);
    fields.user.addEventListener("input", validate);
    fields.context.addEventListener("input", validate);
    runDraft.addEventListener("click", () => run("draft"));
    runPipeline.addEventListener("click", () => run("pipeline"));
    document.getElementById("reset-payload").addEventListener("click", () => fill(SAMPLES[trigger] || SAMPLES.PRE_REGISTER));
    if (data.replay_run_id) loadReplay(data.replay_run_id);
    return { run, objectDiff };
  }

  window.GenAuthTestPanel = { mount, samples: SAMPLES, objectDiff };
})();
