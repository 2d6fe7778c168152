/**
 * Keeps where a registration came from in custom data: the application, the
 * signup channel and any UTM campaign parameters from the sign-up URL, plus the
 * time. Values are trimmed to 200 characters.
 */
const UTM_KEYS = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];

function clip(value) {
  return typeof value === "string" ? value.trim().slice(0, 200) : null;
}

async function pipe(user, context, callback) {
  const query = context.query || {};
  for (const key of UTM_KEYS) {
    const value = clip(query[key]);
    if (value) user.addCustomData(key, value);
  }
  if (context.app && context.app.id) user.addCustomData("signupAppId", String(context.app.id));
  user.addCustomData("signupChannel", clip(context.protocol) || "unknown");
  user.addCustomData("signedUpAt", new Date().toISOString());
  callback(null, user, context);
}
