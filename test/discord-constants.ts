// Discord settings shared by the vitest config (Node), the fake Discord API and the tests (workerd); no Node imports
// here.
export const DISCORD_TEST = {
	applicationId: "700000000000000001",
	botToken: "test-discord-bot-token",
	staffChannelId: "800000000000000001",
	staffRoleId: "900000000000000001",
	staffUserId: "900000000000000002",
} as const;
