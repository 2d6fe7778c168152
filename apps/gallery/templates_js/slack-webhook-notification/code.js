/**
 * Posts a message to a Slack channel (incoming webhook) when someone registers.
 * Run it as an async function: the user never waits for Slack, and a Slack
 * failure is logged, never turned into a deny.
 */
function describe(user) {
  return user.email || user.phone || user.username || user.id || "unknown user";
}

async function pipe(user, context, callback) {
  const text = `:tada: New sign-up: ${describe(user)}` + (context.app && context.app.name ? ` via ${context.app.name}` : "");
  try {
    await axios.post(env.SLACK_WEBHOOK_URL, { text });
  } catch (error) {
    console.error(`Slack notification failed: ${error.message}`);
  }
  callback(null, user, context);
}
