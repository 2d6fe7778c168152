/**
 * Auth0 Action (post-user-registration): tells a webhook about every new user.
 *
 * WEBHOOK_URL is an Action secret (env here). A failed call is logged and does not
 * fail the registration, as Auth0 recommends for post-registration Actions.
 */
exports.onExecutePostUserRegistration = async (event, api) => {
  try {
    await axios.post(event.secrets.WEBHOOK_URL, {
      text: `New user ${event.user.email} (${event.user.user_id}) via ${event.connection.name}`,
    });
  } catch (err) {
    console.error(`Webhook failed: ${err.message}`);
  }
};
