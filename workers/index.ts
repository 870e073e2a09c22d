// The Worker entry: HTTP through the router, the cron that keeps every shard sweeping, and the Durable Object classes.
import { router } from "./router.ts";
import { shard } from "./services/liveness.ts";
import { drainDiscordOutbox } from "./services/discord-outbox.ts";

export { EpochSettler } from "../durable-objects/EpochSettler.ts";
export { LivenessShard } from "../durable-objects/LivenessShard.ts";

export default {
	fetch: (request, env, ctx) => router.fetch(request, env, ctx),

	/**
	 * Settles every epoch whose EPOCH_SECONDS are up, and wakes every shard that D1 says holds online nodes,
	 * so a restarted coordinator resumes by itself.
	 */
	async scheduled(controller, env, ctx) {
		ctx.waitUntil(drainDiscordOutbox(env, Date.now()).catch((err) => console.error("discord outbox drain failed", err))); // staff-channel posts Discord missed
		const { results } = await env.DB.prepare("SELECT DISTINCT shard FROM nodes WHERE status = 'online' AND deleted_at IS NULL").all<{ shard: string }>();
		await Promise.all(results.map((r) => shard(env, r.shard).wake()));
		await env.SETTLER.getByName("global").tick(controller.scheduledTime);
	},
} satisfies ExportedHandler<Env>;
