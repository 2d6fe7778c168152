/**
 * Refuses profile completion without a valid username: 3-32 characters of
 * letters, digits, ".", "_" or "-", starting with a letter or digit, and not a
 * reserved name.
 */
const RESERVED = ["admin", "administrator", "root", "support", "system", "null"];
const PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$/;

function refuse(callback, message, code) {
  const err = new Error(message);
  err.code = code;
  return callback(err);
}

async function pipe(user, context, callback) {
  const username = typeof user.username === "string" ? user.username.trim() : "";
  if (!username) {
    return refuse(callback, "Please choose a username.", "username_required");
  }
  if (!PATTERN.test(username)) {
    return refuse(
      callback,
      "Usernames have 3-32 letters, digits, '.', '_' or '-', and start with a letter or digit.",
      "username_invalid"
    );
  }
  if (RESERVED.includes(username.toLowerCase())) {
    return refuse(callback, "This username is reserved.", "username_reserved");
  }
  user.username = username;
  callback(null, user, context);
}
