/**
 * Asks an IP risk-scoring service about the end user's address and refuses the
 * sign-in when the score (0-100) reaches env.RISK_THRESHOLD (default 80).
 *
 * The service receives POST {"ip": "..."} with a bearer token and answers
 * {"score": <number>}. If it is down or answers nonsense, the sign-in passes
 * (fail open, logged) unless env.RISK_FAIL_CLOSED is "true".
 */
const DEFAULT_THRESHOLD = 80;

async function riskScore(ip) {
  const response = await axios.post(
    env.RISK_API_URL,
    { ip },
    { headers: { Authorization: `Bearer ${env.RISK_API_TOKEN}` } }
  );
  const score = Number(response.data && response.data.score);
  if (!Number.isFinite(score)) throw new Error("the risk service returned no score");
  return score;
}

async function pipe(user, context, callback) {
  const threshold = Number(env.RISK_THRESHOLD || DEFAULT_THRESHOLD);
  let score;
  try {
    score = await riskScore(context.ip);
  } catch (error) {
    console.warn(`risk check failed: ${error.message}`);
    if (env.RISK_FAIL_CLOSED === "true") {
      const err = new Error("We could not verify this sign-in. Please try again later.");
      err.code = "risk_check_unavailable";
      return callback(err);
    }
    return callback(null, user, context);
  }
  log(`risk score for ${context.ip}: ${score}`);
  if (score >= threshold) {
    const err = new Error("This sign-in looks risky and was blocked.");
    err.code = "risk_too_high";
    return callback(err);
  }
  user.addCustomData("lastRiskScore", score);
  callback(null, user, context);
}
