// Projects: "worker" runs in the real Workers runtime (workerd); "agent" and "repo" (checks on the source tree) run in
// Node; "e2e" starts the coordinator and real agents.
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

import { TEST_ADMIN_TOKEN, TEST_BOT_TOKEN, TEST_WEBHOOK_SECRET } from "./test/constants.ts";
import { DISCORD_TEST } from "./test/discord-constants.ts";
import { startApiRouter } from "./test/fakes/api-router.ts";
import { startFakeBotApi } from "./test/fakes/bot-api.ts";
import { discordTestKey, startFakeDiscordApi } from "./test/fakes/discord-api.ts";

/**
 * The outside world of the worker tests, faked at the network boundary: a fake Bot API (Telegram and alert webhooks)
 * and a fake of Discord's REST API behind one address, and a fresh Ed25519 key whose public half the Worker verifies
 * Discord interactions with (tests sign with the private half). The servers must not keep the test process alive.
 */
async function fakeOutsideWorld(): Promise<Record<string, string>> {
	const bot = await startFakeBotApi({ unref: true });
	const discord = await startFakeDiscordApi({ botToken: DISCORD_TEST.botToken, unref: true });
	const { url } = await startApiRouter({ bot: bot.url, discord: discord.url, unref: true });
	const key = discordTestKey();
	return {
		TELEGRAM_API_ROOT: bot.url,
		FAKE_BOT_API: bot.url,
		DISCORD_PUBLIC_KEY: key.publicKeyHex,
		TEST_DISCORD_SIGNING_JWK: key.privateJwk,
		DISCORD_API_ROOT: url,
		FAKE_DISCORD_API: discord.url,
		DISCORD_APPLICATION_ID: DISCORD_TEST.applicationId,
		DISCORD_BOT_TOKEN: DISCORD_TEST.botToken,
		DISCORD_STAFF_CHANNEL_ID: DISCORD_TEST.staffChannelId,
		DISCORD_STAFF_ROLE_IDS: DISCORD_TEST.staffRoleId,
		DISCORD_STAFF_USER_IDS: DISCORD_TEST.staffUserId,
	};
}

export default defineConfig({
	test: {
		projects: [
			{
				plugins: [
					cloudflareTest(async () => ({
						// Outbound Telegram and Discord calls go over real HTTP to a local fake of both APIs (the network boundary).
						wrangler: { configPath: "./wrangler.toml" },
						miniflare: {
							bindings: {
								TEST_MIGRATIONS: await readD1Migrations("schema/migrations"),
								ADMIN_TOKEN: TEST_ADMIN_TOKEN,
								TELEGRAM_BOT_TOKEN: TEST_BOT_TOKEN,
								TELEGRAM_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
								...(await fakeOutsideWorld()),
								// Short timings so liveness tests take seconds; the defaults are measured by `npm run bench`.
								HEARTBEAT_INTERVAL_S: "1",
								OFFLINE_AFTER_S: "3",
								SWEEP_INTERVAL_S: "1",
								CHALLENGE_EVERY_S: "1",
								CHALLENGE_TIMEOUT_S: "2",
								CHECKPOINT_S: "1",
								INCIDENT_MIN_NODES: "3",
								// Most tests drop one owner's nodes; the spread rule has its own tests (test/unit/incident.test.ts).
								INCIDENT_MIN_ACCOUNTS: "1",
								INCIDENT_MIN_NETWORKS: "1",
								// Nodes earn from the epoch they register in; test/worker/points-identity.test.ts sets it.
								PROBATION_S: "0",
								// Small compute challenges, so a test can solve one in milliseconds (docs/VERIFICATION.md §8).
								VERIFY_SHAPE: "64x64x32",
								// Co-scheduled rounds start only when a test starts one (test/worker/verify-rounds.test.ts).
								VERIFY_ROUND_INTERVAL_S: "0",
								SHARD_COUNT: "1", // one shard per region, so a test owns its shard by picking a region
								ALERT_GROUP_WINDOW_S: "2",
								ALERT_EDIT_WINDOW_S: "5",
								ALERT_FLAP_COUNT: "3",
								ALERT_FLAP_WINDOW_S: "60",
							},
						},
					})),
				],
				test: {
					name: "worker",
					include: ["test/unit/**/*.test.ts", "test/worker/**/*.test.ts"],
					setupFiles: ["./test/worker/setup.ts"],
					testTimeout: 30_000,
				},
			},
			{
				test: { name: "agent", include: ["test/agent/**/*.test.ts"], environment: "node" },
			},
			{
				// Checks on the code itself: import cycles, where D1 and the clock are used, the README's layout table.
				test: { name: "repo", include: ["test/repo/**/*.test.ts"], environment: "node" },
			},
			{
				test: {
					name: "e2e",
					include: ["test/e2e/**/*.test.ts"],
					environment: "node",
					testTimeout: 180_000,
					hookTimeout: 180_000,
					fileParallelism: false,
				},
			},
		],
	},
});
