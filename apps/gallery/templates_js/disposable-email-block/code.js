/**
 * Refuses registrations with throwaway (disposable) email addresses.
 *
 * Matches the exact domain after the last "@", or any subdomain of a listed one,
 * case-insensitively. Extend DISPOSABLE_DOMAINS with the providers you see.
 */
const DISPOSABLE_DOMAINS = [
  "10minutemail.com", "20minutemail.com", "33mail.com", "anonbox.net", "burnermail.io",
  "discard.email", "dispostable.com", "emailondeck.com", "fakeinbox.com", "getairmail.com",
  "getnada.com", "guerrillamail.com", "guerrillamail.net", "guerrillamailblock.com",
  "harakirimail.com", "incognitomail.org", "mailcatch.com", "maildrop.cc", "mailinator.com",
  "mailnesia.com", "mintemail.com", "mohmal.com", "mytemp.email", "sharklasers.com",
  "spamgourmet.com", "temp-mail.org", "tempail.com", "tempmail.com", "tempmailo.com",
  "temporary-mail.net", "throwawaymail.com", "trashmail.com", "trashmail.de", "yopmail.com",
  "yopmail.fr",
];

function emailDomain(email) {
  if (typeof email !== "string") return null;
  const at = email.lastIndexOf("@");
  if (at < 1 || at === email.length - 1) return null;
  return email.slice(at + 1).trim().toLowerCase().replace(/\.$/, "");
}

async function pipe(user, context, callback) {
  const domain = emailDomain(user.email);
  if (domain && DISPOSABLE_DOMAINS.some((d) => domain === d || domain.endsWith("." + d))) {
    const err = new Error("Please use a permanent email address.");
    err.code = "disposable_email";
    return callback(err);
  }
  callback(null, user, context);
}
