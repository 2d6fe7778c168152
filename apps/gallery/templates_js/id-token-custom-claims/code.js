/**
 * Adds custom claims to the ID token and removes one the client should not see.
 *
 * Claim names may be plain ("plan") or namespaced URLs
 * ("https://example.com/plan"); the registered OIDC claims (iss, sub, aud, exp,
 * iat, nbf, auth_time, nonce, jti, azp) are protected and cannot be changed.
 */
const NAMESPACE = "https://example.com/";

function emailDomain(email) {
  if (typeof email !== "string" || email.lastIndexOf("@") < 1) return null;
  return email.slice(email.lastIndexOf("@") + 1).toLowerCase();
}

async function pipe(user, context, callback) {
  const data = user.customData || {};
  user.addIdToken(NAMESPACE + "plan", data.plan || "free");
  const domain = emailDomain(user.email);
  if (domain) user.addIdToken(NAMESPACE + "email_domain", domain);
  if (user.locale) user.addIdToken("locale", user.locale);
  // The phone number is personal data the web client does not need.
  user.removeIdToken("phone_number");
  callback(null, user, context);
}
