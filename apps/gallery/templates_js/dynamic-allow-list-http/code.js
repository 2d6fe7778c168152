/**
 * Lets only email domains from a list served over HTTP register.
 *
 * env.ALLOW_LIST_URL returns JSON: either ["example.com", ...] or
 * {"domains": ["example.com", ...]}. If the list cannot be loaded the
 * registration is refused (fail closed): an outage must not open the door.
 */
function emailDomain(email) {
  if (typeof email !== "string") return null;
  const at = email.lastIndexOf("@");
  if (at < 1 || at === email.length - 1) return null;
  return email.slice(at + 1).trim().toLowerCase().replace(/\.$/, "");
}

async function loadDomains() {
  const headers = { Accept: "application/json" };
  if (env.ALLOW_LIST_TOKEN) headers.Authorization = `Bearer ${env.ALLOW_LIST_TOKEN}`;
  const response = await fetch(env.ALLOW_LIST_URL, { headers });
  if (!response.ok) throw new Error(`allow-list answered HTTP ${response.status}`);
  const body = await response.json();
  const domains = Array.isArray(body) ? body : body && body.domains;
  if (!Array.isArray(domains)) throw new Error("allow-list is not a list of domains");
  return domains.filter((d) => typeof d === "string").map((d) => d.trim().toLowerCase());
}

async function pipe(user, context, callback) {
  let domains;
  try {
    domains = await loadDomains();
  } catch (error) {
    console.error(`could not load the allow-list: ${error.message}`);
    const err = new Error("Registration is temporarily unavailable. Please try again later.");
    err.code = "allow_list_unavailable";
    return callback(err);
  }
  const domain = emailDomain(user.email);
  if (!domain || !domains.includes(domain)) {
    const err = new Error("Sign-up is limited to approved email domains.");
    err.code = "email_domain_not_allowed";
    return callback(err);
  }
  callback(null, user, context);
}
