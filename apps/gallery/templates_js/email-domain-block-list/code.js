/**
 * Refuses email addresses from the listed domains and from their subdomains.
 *
 * The domain is the text after the LAST "@", lower-cased. "evil.io" blocks
 * "x@evil.io" and "x@mail.evil.io" but not "x@notevil.io".
 */
const BLOCKED_DOMAINS = ["evil.io", "competitor.example"];

function emailDomain(email) {
  if (typeof email !== "string") return null;
  const at = email.lastIndexOf("@");
  if (at < 1 || at === email.length - 1) return null;
  return email.slice(at + 1).trim().toLowerCase().replace(/\.$/, "");
}

async function pipe(user, context, callback) {
  const domain = emailDomain(user.email);
  if (domain === null) {
    return callback(null, user, context); // nothing to check (e.g. a phone sign-up)
  }
  const blocked = BLOCKED_DOMAINS.some((entry) => {
    const listed = entry.toLowerCase();
    return domain === listed || domain.endsWith("." + listed);
  });
  if (blocked) {
    const err = new Error("Email addresses from this domain are not accepted.");
    err.code = "email_domain_blocked";
    return callback(err);
  }
  callback(null, user, context);
}
