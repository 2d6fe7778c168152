/**
 * Auth0 Action (post-login): puts the user's roles into the ID and access tokens as
 * namespaced custom claims.
 *
 * event.authorization.roles holds the role names of the user the identity provider
 * sends (roles as strings or as {code}); CLAIM_NAMESPACE is an Action secret (env here).
 * Each claim is set on the trigger of its token: attach the Action to both token triggers.
 */
exports.onExecutePostLogin = async (event, api) => {
  const namespace = event.secrets.CLAIM_NAMESPACE || "https://example.com";
  if (event.authorization) {
    api.idToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
    api.accessToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
  }
};
