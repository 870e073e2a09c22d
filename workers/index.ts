// The Worker entry: HTTP through the router, the cron that keeps every shard sweeping, and the Durable Object classes.
import { shardsWithOnlineNodes } from "./db/nodes.ts";
import { router } from "./router.ts";
import { shard } from "./services/liveness.ts";
import { drainDiscordOutbox } from "./services/discord-outbox.ts";
import { finishStaleRounds, roundDue, startRound } from "./services/verify-rounds.ts";
import { readConfig } from "./config.ts";

export { Cluster } from "../durable-objects/Cluster.ts";
export { DeliveryGate } from "../durable-objects/DeliveryGate.ts";
export { EpochSettler } from "../durable-objects/EpochSettler.ts";
export { Scheduler } from "../durable-objects/Scheduler.ts";
export { LivenessShard } from "../durable-objects/LivenessShard.ts";
export { OperatorAlerts } from "../durable-objects/OperatorAlerts.ts";

export default {
	fetch: (request, env, ctx) => router.fetch(request, env, ctx),

	/**
	 * Settles every epoch whose EPOCH_SECONDS are up, and wakes every shard that D1 says holds online nodes,
	 * so a restarted coordinator resumes by itself.
	 */
	async scheduled(controller, env, ctx) {
		ctx.waitUntil(
			drainDiscordOutbox(env, Date.now()).catch((err) => console.error("discord outbox drain failed", err)),
		); // staff-channel posts Discord missed
		await Promise.all((await shardsWithOnlineNodes(env.DB)).map((name) => shard(env, name).wake(Date.now())));
		await env.SETTLER.getByName("global").tick(controller.scheduledTime);
		// Co-scheduled verification: suspects and decoys challenged in the same second (docs/VERIFICATION.md §14).
		if (await roundDue(env, controller.scheduledTime, readConfig(env).verify.roundIntervalS)) {
			await startRound(env, Date.now()).catch((err) => console.error("the verification round did not start", err));
		} else await finishStaleRounds(env, Date.now()).catch((err) => console.error("stale rounds not finished", err));
		// Hourly, the scheduler's capacity index is rebuilt from D1: a safety net under the flip feed.
		if (new Date(controller.scheduledTime).getUTCMinutes() === 0) {
			await env.SCHEDULER.getByName("global").reconcile(controller.scheduledTime);
		}
	},
} satisfies ExportedHandler<Env>;
