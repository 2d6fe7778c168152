/**
 * Sends a JSON event to your own endpoint: {"event", "user": {id, email,
 * username, phone}, "ip", "app", "at"}. With env.WEBHOOK_TOKEN it is sent as a
 * bearer token. Failures are logged, never turned into a deny. Run it as an
 * async function so the user never waits for your endpoint.
 */
const EVENT = "user.event";

async function pipe(user, context, callback) {
  const payload = {
    event: context.event || EVENT,
    user: { id: user.id || null, email: user.email || null, username: user.username || null, phone: user.phone || null },
    ip: context.ip || null,
    app: context.app && context.app.id ? context.app.id : null,
    at: new Date().toISOString(),
  };
  const headers = { "Content-Type": "application/json" };
  if (env.WEBHOOK_TOKEN) headers.Authorization = `Bearer ${env.WEBHOOK_TOKEN}`;
  try {
    const response = await fetch(env.WEBHOOK_URL, { method: "POST", headers, body: JSON.stringify(payload) });
    if (!response.ok) console.error(`webhook answered HTTP ${response.status}`);
  } catch (error) {
    console.error(`webhook failed: ${error.message}`);
  }
  callback(null, user, context);
}
