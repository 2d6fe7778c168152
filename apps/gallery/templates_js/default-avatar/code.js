/**
 * Gives new users without a picture a default avatar.
 *
 * env.DEFAULT_AVATAR_URL, when set, replaces the built-in placeholder; it must
 * be an http(s) URL. A picture the user already has is kept.
 */
const FALLBACK_URL = "https://static.example.com/avatars/default.png";

function avatarUrl() {
  const configured = typeof env.DEFAULT_AVATAR_URL === "string" ? env.DEFAULT_AVATAR_URL.trim() : "";
  return /^https?:\/\//i.test(configured) ? configured : FALLBACK_URL;
}

async function pipe(user, context, callback) {
  if (!user.photo) {
    user.photo = avatarUrl();
  }
  callback(null, user, context);
}
