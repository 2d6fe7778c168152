/**
 * Refuses sign-in until the user's email address is verified.
 *
 * Reads `emailVerified` (GenAuth) or `email_verified` (OIDC); only a literal true
 * counts, so "true" strings or missing flags do not pass.
 */
// Users who have no email at all (e.g. phone-only accounts): let them through?
const ALLOW_USERS_WITHOUT_EMAIL = false;

async function pipe(user, context, callback) {
  if (!user.email) {
    if (ALLOW_USERS_WITHOUT_EMAIL) return callback(null, user, context);
    const err = new Error("An email address is required to sign in.");
    err.code = "email_required";
    return callback(err);
  }
  const verified = user.emailVerified === true || user.email_verified === true;
  if (!verified) {
    const err = new Error("Please verify your email address before signing in.");
    err.code = "email_not_verified";
    return callback(err);
  }
  callback(null, user, context);
}
