/**
 * Only people whose email address belongs to one of the listed domains may continue.
 *
 * The domain is the text after the LAST "@", compared exactly and case-insensitively:
 * "eve@example.com.evil.io" or "eve@notexample.com" do not match "example.com"
 * (a substring or indexOf check would let them through).
 */
const ALLOWED_DOMAINS = ["example.com", "example.org"];

// Set to true to also accept subdomains such as "eng.example.com".
const ALLOW_SUBDOMAINS = false;

function emailDomain(email) {
  if (typeof email !== "string") return null;
  const at = email.lastIndexOf("@");
  if (at < 1 || at === email.length - 1) return null;
  return email.slice(at + 1).trim().toLowerCase().replace(/\.$/, "");
}

function isAllowed(domain) {
  return ALLOWED_DOMAINS.some((allowed) => {
    const wanted = allowed.toLowerCase();
    return domain === wanted || (ALLOW_SUBDOMAINS && domain.endsWith("." + wanted));
  });
}

async function pipe(user, context, callback) {
  const domain = emailDomain(user.email);
  if (!domain || !isAllowed(domain)) {
    const err = new Error("Sign-up is limited to approved email domains.");
    err.code = "email_domain_not_allowed";
    return callback(err);
  }
  callback(null, user, context);
}
