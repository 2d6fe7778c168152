/**
 * Auth0 Action (pre-user-registration): a display name is required, and new users start
 * with a plan in app_metadata and their sign-up locale in user_metadata.
 *
 * api.user.setAppMetadata/setUserMetadata become custom data here (app_metadata and
 * user_metadata, each the whole object to save); api.validation.error refuses the
 * registration with its own code.
 */
exports.onExecutePreUserRegistration = async (event, api) => {
  if (!event.user.name && !event.user.given_name) {
    api.validation.error("name_required", "Please tell us your name.");
    return;
  }
  api.user.setAppMetadata("plan", "free");
  api.user.setUserMetadata("locale", event.request.language || "en");
};
