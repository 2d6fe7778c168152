/**
 * Posts a text message to a DingTalk group robot when someone registers.
 * DingTalk answers HTTP 200 with {"errcode": <non-zero>} on errors; failures are
 * logged, never turned into a deny. Run it as an async function.
 */
async function pipe(user, context, callback) {
  const who = user.email || user.phone || user.username || user.id || "unknown user";
  const body = { msgtype: "text", text: { content: `New sign-up: ${who}` } };
  try {
    const response = await axios.post(env.DINGTALK_WEBHOOK_URL, body);
    const data = response.data || {};
    if (data.errcode !== undefined && data.errcode !== 0) {
      console.error(`DingTalk notification failed: ${data.errcode} ${data.errmsg || ""}`);
    }
  } catch (error) {
    console.error(`DingTalk notification failed: ${error.message}`);
  }
  callback(null, user, context);
}
