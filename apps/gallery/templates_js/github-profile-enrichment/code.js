/**
 * Enriches users who signed in with GitHub with their public GitHub profile.
 *
 * Finds the GitHub identity in `user.identities` ({provider: "github", login}),
 * reads https://api.github.com/users/<login> (env.GITHUB_API_URL overrides the
 * base, env.GITHUB_TOKEN raises the rate limit), keeps public fields in custom
 * data and fills an empty name or picture. A GitHub outage never blocks anyone.
 */
function githubLogin(user) {
  const identities = Array.isArray(user.identities) ? user.identities : [];
  const identity = identities.find((item) => item && item.provider === "github");
  const login = identity && (identity.login || identity.username);
  return typeof login === "string" && /^[A-Za-z0-9-]{1,39}$/.test(login) ? login : null;
}

async function pipe(user, context, callback) {
  const login = githubLogin(user);
  if (!login) return callback(null, user, context);
  const base = (env.GITHUB_API_URL || "https://api.github.com").replace(/\/+$/, "");
  const headers = { Accept: "application/vnd.github+json", "User-Agent": "genauth-pipeline" };
  if (env.GITHUB_TOKEN) headers.Authorization = `Bearer ${env.GITHUB_TOKEN}`;
  try {
    const response = await fetch(`${base}/users/${encodeURIComponent(login)}`, { headers });
    if (!response.ok) throw new Error(`GitHub answered HTTP ${response.status}`);
    const profile = await response.json();
    user.addCustomData("githubLogin", login);
    for (const [field, key] of [["company", "githubCompany"], ["blog", "githubBlog"], ["location", "githubLocation"]]) {
      if (typeof profile[field] === "string" && profile[field]) user.addCustomData(key, profile[field]);
    }
    if (Number.isInteger(profile.public_repos)) user.addCustomData("githubPublicRepos", profile.public_repos);
    if (!user.name && typeof profile.name === "string") user.name = profile.name;
    if (!user.photo && typeof profile.avatar_url === "string") user.photo = profile.avatar_url;
  } catch (error) {
    console.warn(`GitHub enrichment skipped: ${error.message}`);
  }
  callback(null, user, context);
}
