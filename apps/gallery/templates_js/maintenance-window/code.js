/**
 * Refuses sign-ins and registrations during a maintenance window.
 *
 * env.MAINTENANCE_START and env.MAINTENANCE_END are ISO 8601 times with a zone,
 * e.g. "2025-06-01T22:00:00Z". Outside the window, or when the window is not set
 * or not valid (logged as a warning), everyone passes: a typo must not lock
 * every user out.
 */
function parseTime(value) {
  if (typeof value !== "string" || !value.trim()) return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : time;
}

async function pipe(user, context, callback) {
  const start = parseTime(env.MAINTENANCE_START);
  const end = parseTime(env.MAINTENANCE_END);
  if (start === null || end === null || end <= start) {
    console.warn("maintenance window not configured or invalid; allowing");
    return callback(null, user, context);
  }
  const now = Date.now();
  if (now >= start && now < end) {
    const err = new Error(
      env.MAINTENANCE_MESSAGE ||
        `We are down for maintenance until ${new Date(end).toISOString()}. Please try again later.`
    );
    err.code = "maintenance";
    return callback(err);
  }
  callback(null, user, context);
}
