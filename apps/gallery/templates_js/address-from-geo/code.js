/**
 * Fills empty address fields of the profile from the IP geolocation the identity
 * provider sends in `context.geo`. Values the user entered are never overwritten.
 */
const FIELDS = { country: "country", province: "region", city: "city" };

async function pipe(user, context, callback) {
  const geo = context.geo || {};
  for (const [userField, geoField] of Object.entries(FIELDS)) {
    const value = geo[geoField];
    const empty = user[userField] === undefined || user[userField] === null || user[userField] === "";
    if (empty && typeof value === "string" && value.trim()) {
      user[userField] = value.trim();
    }
  }
  callback(null, user, context);
}
