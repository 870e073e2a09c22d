// The local fake Telegram Bot API (test/fakes/bot-api.ts) in a process of its own, so that its receive timestamps never
// wait on the simulator's event loop.
import { startFakeBotApi } from "../test/fakes/bot-api.ts";

const server = await startFakeBotApi();
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
let stopping = false;
const stop = () => {
	if (stopping) return;
	stopping = true;
	void server.close().finally(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
// The bench holds our stdin: when it exits, however it exits, the pipe closes and so do we.
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
