/**
 * Posts a text message to a Lark / Feishu group bot when someone registers.
 * Lark answers HTTP 200 with {"code": <non-zero>} on errors; both kinds of
 * failure are logged, never turned into a deny. Run it as an async function.
 */
async function pipe(user, context, callback) {
  const who = user.email || user.phone || user.username || user.id || "unknown user";
  const body = { msg_type: "text", content: { text: `New sign-up: ${who}` } };
  try {
    const response = await fetch(env.LARK_WEBHOOK_URL, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const result = await response.json().catch(() => ({}));
    if (!response.ok || (result.code !== undefined && result.code !== 0)) {
      console.error(`Lark notification failed: HTTP ${response.status} ${result.msg || ""}`);
    }
  } catch (error) {
    console.error(`Lark notification failed: ${error.message}`);
  }
  callback(null, user, context);
}
