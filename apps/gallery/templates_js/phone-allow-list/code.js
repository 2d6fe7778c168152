/**
 * Only the listed phone numbers, or numbers with the listed country codes, may continue.
 *
 * Reads `user.phone` only (never the raw request), normalised to "+<digits>":
 * spaces, dashes, dots and brackets are ignored; a leading "00" means "+".
 */
const ALLOWED_NUMBERS = ["+8613800138000", "+15551234567"];
const ALLOWED_COUNTRY_CODES = []; // e.g. ["+86", "+1"]

function normalise(phone) {
  if (typeof phone !== "string") return null;
  let value = phone.trim().replace(/[\s\-().]/g, "");
  if (value.startsWith("00")) value = "+" + value.slice(2);
  return /^\+[1-9]\d{6,14}$/.test(value) ? value : null;
}

async function pipe(user, context, callback) {
  const phone = normalise(user.phone);
  const allowed =
    phone !== null &&
    (ALLOWED_NUMBERS.map(normalise).includes(phone) ||
      ALLOWED_COUNTRY_CODES.some((code) => phone.startsWith(code)));
  if (!allowed) {
    const err = new Error("This phone number is not allowed to sign up.");
    err.code = "phone_not_allowed";
    return callback(err);
  }
  callback(null, user, context);
}
