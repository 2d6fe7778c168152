/**
 * Auth0 Action (credentials-exchange): machine-to-machine tokens only for known clients,
 * with the client and the request's IP address as custom claims.
 *
 * Runs at PRE_OIDC_ACCESS_TOKEN_ISSUED when context.accessTokenTarget is
 * "programmaticAccount"; users' access tokens pass through unchanged.
 * ALLOWED_CLIENTS is an Action secret (env here): comma-separated client ids.
 */
exports.onExecuteCredentialsExchange = async (event, api) => {
  const allowed = (event.secrets.ALLOWED_CLIENTS || "").split(",").map((id) => id.trim());
  if (!allowed.includes(event.client.client_id)) {
    api.access.deny("invalid_request", `Client ${event.client.client_id} may not get tokens for this API.`);
    return;
  }
  api.accessToken.setCustomClaim("https://example.com/client", event.client.client_id);
  api.accessToken.setCustomClaim("https://example.com/request_ip", event.request.ip);
};
