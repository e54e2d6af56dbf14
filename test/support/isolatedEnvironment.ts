/**
 * Runs before every test file (vitest `setupFiles`): the bot's own settings that name a
 * production resource or credential are removed from the test process's environment, so that
 * no test — nor a process it starts with `process.env` — can reach a database, bot or model
 * endpoint a developer has exported for the bot itself. Tests name what they use explicitly
 * (`TEST_DATABASE_URL`, fake servers on 127.0.0.1).
 */
const production = /^(DATABASE_URL|DATABASE_POOL_SIZE|STORE|SQLITE_PATH|CLUSTER|RUNNER_HOST|RUNNER_PORT|BOT_PROFILE|YDB_.*|TELEGRAM_.*|OPENAI_.*|WEBHOOK_.*|OTEL_.*|ADMIN_CHAT_ID|HANDOFF_CHAT_ID|MCP_CONFIG)$/

for (const name of Object.keys(process.env)) {
  if (production.test(name)) delete process.env[name]
}
