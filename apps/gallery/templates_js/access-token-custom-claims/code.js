/**
 * Adds custom claims to access tokens for your APIs.
 *
 * For machine-to-machine tokens (`context.accessTokenTarget` is
 * "programmaticAccount", `user` is empty) only the client type is added.
 */
const NAMESPACE = "https://example.com/";

async function pipe(user, context, callback) {
  if (context.accessTokenTarget === "programmaticAccount") {
    user.addAccessToken(NAMESPACE + "client_type", "machine");
    return callback(null, user, context);
  }
  const data = user.customData || {};
  user.addAccessToken(NAMESPACE + "client_type", "user");
  user.addAccessToken(NAMESPACE + "plan", data.plan || "free");
  if (data.tenantId) user.addAccessToken(NAMESPACE + "tenant_id", data.tenantId);
  callback(null, user, context);
}
