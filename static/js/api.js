/* JSON requests from console pages to the API, with the member's session and CSRF token.
 * Shared by the pipelines page and the function editor (load it before them). */
(function () {
  "use strict";

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  /** Never throws: {ok, status, body}; an unreachable server is status 0 with an error body. */
  async function request(method, url, body) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (method !== "GET") init.headers["X-CSRFToken"] = csrfToken();
    try {
      const response = await fetch(url, init);
      const text = await response.text();
      let parsed = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch (_) {
        parsed = null;
      }
      return { ok: response.ok, status: response.status, body: parsed };
    } catch (_) {
      return { ok: false, status: 0, body: { error: { code: "network_error", message: "The server could not be reached.", details: {} } } };
    }
  }

  window.genauthApi = Object.freeze({ request });
})();
