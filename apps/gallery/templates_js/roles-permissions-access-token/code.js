/**
 * Puts the user's roles, and the permissions those roles grant, into the access
 * token so an API can authorise from the token alone.
 *
 * ROLE_PERMISSIONS maps role codes to permission strings; unknown roles grant
 * nothing. Machine-to-machine tokens are left unchanged.
 */
const ROLE_PERMISSIONS = {
  admin: ["orders:read", "orders:write", "users:read", "users:write"],
  editor: ["orders:read", "orders:write"],
  viewer: ["orders:read"],
};

function roleCodes(roles) {
  if (!Array.isArray(roles)) return [];
  const values = roles
    .map((role) => (typeof role === "string" ? role : role && role.code))
    .filter((code) => typeof code === "string" && code);
  return [...new Set(values)].sort();
}

async function pipe(user, context, callback) {
  if (context.accessTokenTarget === "programmaticAccount") {
    return callback(null, user, context);
  }
  const roles = roleCodes(user.roles);
  const permissions = new Set();
  for (const role of roles) {
    for (const permission of ROLE_PERMISSIONS[role] || []) permissions.add(permission);
  }
  user.addAccessToken("roles", roles);
  user.addAccessToken("permissions", [...permissions].sort());
  callback(null, user, context);
}
