// What the fake Bot API records, shared by Node-side tests and tests running inside workerd (no Node imports here).

/** One message as the fake holds it: its latest text, and every version it had. */
export interface FakeMessage {
	/** "tg:<chat_id>" or "dc:<webhook id>". */
	dest: string;
	message_id: number;
	text: string;
	versions: string[];
	sent_at: number;
	edited_at: number | null;
}

/** Every request that reached a messaging method, answered or refused. */
export interface FakeRequest {
	dest: string;
	method: "sendMessage" | "editMessageText" | "discordExecute" | "discordEdit";
	at: number;
	status: number;
	text: string;
}

export interface FakeState {
	messages: FakeMessage[];
	requests: FakeRequest[];
	/** Requests that broke a limit the real API enforces, or came before a retry_after had passed. */
	violations: string[];
}
