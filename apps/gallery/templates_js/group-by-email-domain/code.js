/**
 * Chooses a group for the user from their email domain and returns it in custom
 * data ("group"), for your backend to add the membership.
 *
 * Exact domains after the last "@", case-insensitive. Users from unlisted domains
 * get DEFAULT_GROUP (or none when it is null).
 */
const GROUP_BY_DOMAIN = {
  "example.com": "employees",
  "partner.example": "partners",
};
const DEFAULT_GROUP = "customers";

function emailDomain(email) {
  if (typeof email !== "string") return null;
  const at = email.lastIndexOf("@");
  if (at < 1 || at === email.length - 1) return null;
  return email.slice(at + 1).trim().toLowerCase();
}

async function pipe(user, context, callback) {
  const domain = emailDomain(user.email);
  const group = Object.prototype.hasOwnProperty.call(GROUP_BY_DOMAIN, domain)
    ? GROUP_BY_DOMAIN[domain]
    : DEFAULT_GROUP;
  if (group) user.addCustomData("group", group);
  callback(null, user, context);
}
