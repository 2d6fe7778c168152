/**
 * Lists the organizations the user belongs to in the ID token: "org_ids" for
 * programs and "orgs" ({id, name}) for display. Entries without an id are skipped.
 */
async function pipe(user, context, callback) {
  const organizations = Array.isArray(user.organizations) ? user.organizations : [];
  const orgs = [];
  const seen = new Set();
  for (const org of organizations) {
    const id = org && (org.id || org.code);
    if (typeof id !== "string" || seen.has(id)) continue;
    seen.add(id);
    orgs.push({ id, name: typeof org.name === "string" ? org.name : id });
  }
  user.addIdToken("org_ids", orgs.map((org) => org.id));
  user.addIdToken("orgs", orgs);
  callback(null, user, context);
}
