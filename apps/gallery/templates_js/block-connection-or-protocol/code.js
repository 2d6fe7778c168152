/**
 * Refuses sign-ins through the listed connections (identity sources, e.g. a social
 * provider being retired) or protocols (e.g. legacy LDAP or CAS), case-insensitively.
 */
const BLOCKED_CONNECTIONS = ["legacy-ldap", "weibo"];
const BLOCKED_PROTOCOLS = ["cas", "ldap"];

function lower(value) {
  return typeof value === "string" ? value.trim().toLowerCase() : "";
}

async function pipe(user, context, callback) {
  const connection = lower(context.connection);
  const protocol = lower(context.protocol);
  const blockedBy =
    (BLOCKED_CONNECTIONS.includes(connection) && `connection ${connection}`) ||
    (BLOCKED_PROTOCOLS.includes(protocol) && `protocol ${protocol}`);
  if (blockedBy) {
    log(`refused sign-in through ${blockedBy}`);
    const err = new Error("This sign-in method is no longer available.");
    err.code = "connection_blocked";
    return callback(err);
  }
  callback(null, user, context);
}
