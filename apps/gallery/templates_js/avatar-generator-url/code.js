/**
 * Gives users without a picture a generated initials avatar.
 *
 * The URL is built from AVATAR_SERVICE (any service taking the name as a query
 * parameter) with the user's initials, properly URL-encoded, so names with
 * spaces, accents or "&" produce a valid URL.
 */
const AVATAR_SERVICE = "https://ui-avatars.com/api/";

function displayName(user) {
  const candidates = [user.name, user.nickname, user.username, user.email && user.email.split("@")[0]];
  const found = candidates.find((value) => typeof value === "string" && value.trim());
  return found ? found.trim() : "?";
}

function initials(name) {
  const words = name.split(/[\s._-]+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : [name];
  return letters.map((word) => Array.from(word)[0].toUpperCase()).join("");
}

async function pipe(user, context, callback) {
  if (!user.photo) {
    const url = new URL(AVATAR_SERVICE);
    url.searchParams.set("name", initials(displayName(user)));
    url.searchParams.set("size", "128");
    user.photo = url.toString();
  }
  callback(null, user, context);
}
