/**
 * Only requests from the listed IPv4/IPv6 addresses or CIDR ranges may continue.
 *
 * `context.ip` is the end user's address as the identity provider saw it.
 * `utils.ipRangeCheck(ip, ranges)` understands single addresses and CIDR ranges
 * of both families; an address that does not parse never matches.
 */
const ALLOWED_RANGES = [
  "10.0.0.0/8",
  "192.168.0.0/16",
  "203.0.113.0/24",
  "2001:db8::/32",
];

async function pipe(user, context, callback) {
  const ip = typeof context.ip === "string" ? context.ip.trim() : "";
  if (!ip || !utils.ipRangeCheck(ip, ALLOWED_RANGES)) {
    const err = new Error("Sign-in is not allowed from your network.");
    err.code = "ip_not_allowed";
    return callback(err);
  }
  callback(null, user, context);
}
