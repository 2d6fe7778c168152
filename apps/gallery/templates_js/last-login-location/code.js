/**
 * Records the last sign-in's IP address, place and time in custom data, for
 * "new sign-in from ..." notices or an account-activity page.
 */
async function pipe(user, context, callback) {
  const geo = context.geo || {};
  user.addCustomData("lastLoginAt", new Date().toISOString());
  if (context.ip) user.addCustomData("lastLoginIp", String(context.ip));
  if (geo.country) user.addCustomData("lastLoginCountry", String(geo.country));
  if (geo.city) user.addCustomData("lastLoginCity", String(geo.city));
  if (context.userAgent) user.addCustomData("lastLoginUserAgent", String(context.userAgent).slice(0, 300));
  callback(null, user, context);
}
