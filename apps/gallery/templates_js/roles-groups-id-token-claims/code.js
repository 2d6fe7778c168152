/**
 * Puts the user's roles and groups into the ID token as string arrays.
 *
 * `user.roles` / `user.groups` may hold strings or objects with a `code` (or
 * `name`); duplicates and empty values are dropped and the lists sorted so the
 * token does not change between logins for the same memberships.
 */
function codes(items) {
  if (!Array.isArray(items)) return [];
  const values = items
    .map((item) => (typeof item === "string" ? item : item && (item.code || item.name)))
    .filter((value) => typeof value === "string" && value.trim())
    .map((value) => value.trim());
  return [...new Set(values)].sort();
}

async function pipe(user, context, callback) {
  user.addIdToken("roles", codes(user.roles));
  user.addIdToken("groups", codes(user.groups));
  callback(null, user, context);
}
