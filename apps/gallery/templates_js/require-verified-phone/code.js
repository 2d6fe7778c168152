/**
 * Refuses sign-in until the user's phone number is verified.
 *
 * Reads `phoneVerified` (GenAuth) or `phone_number_verified` (OIDC); only a
 * literal true counts.
 */
async function pipe(user, context, callback) {
  if (!user.phone && !user.phone_number) {
    const err = new Error("A phone number is required to sign in.");
    err.code = "phone_required";
    return callback(err);
  }
  const verified = user.phoneVerified === true || user.phone_number_verified === true;
  if (!verified) {
    const err = new Error("Please verify your phone number before signing in.");
    err.code = "phone_not_verified";
    return callback(err);
  }
  callback(null, user, context);
}
