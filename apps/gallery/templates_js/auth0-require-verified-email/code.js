/**
 * Auth0 Action (post-login): only users with a verified email address may log in.
 *
 * Runs unmodified from Auth0: event.user.email_verified is read from the user the
 * identity provider sends (emailVerified or email_verified).
 */
exports.onExecutePostLogin = async (event, api) => {
  if (!event.user.email_verified) {
    api.access.deny("Please verify your email before logging in.");
  }
};
