/**
 * Auth0 Action (pre-user-registration): only addresses of the allowed domains may sign up.
 *
 * ALLOWED_DOMAINS is an Action secret (env here): a comma-separated list of domains.
 * api.access.deny(reason, userMessage): the user message is what the person sees.
 */
exports.onExecutePreUserRegistration = async (event, api) => {
  const allowed = (event.secrets.ALLOWED_DOMAINS || "")
    .split(",")
    .map((domain) => domain.trim().toLowerCase())
    .filter(Boolean);
  const email = (event.user.email || "").toLowerCase();
  const domain = email.slice(email.lastIndexOf("@") + 1);
  if (!email.includes("@") || !allowed.includes(domain)) {
    api.access.deny("email_domain_not_allowed", "Sign-ups from this email domain are not allowed.");
  }
};
