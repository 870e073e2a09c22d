// Constants shared by the vitest config (Node) and the tests (workerd): importing the config itself would pull
// Node-only code into workerd.
export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789";
export const TEST_BOT_TOKEN = "123456789:test-bot-token";
export const TEST_WEBHOOK_SECRET = "test-webhook-secret";
