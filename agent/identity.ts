// A node's identity: its Ed25519 key pair, and the short-lived EdDSA tokens it signs to prove it is itself.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { SignJWT, importJWK, type JWK } from "jose";

export const TOKEN_AUDIENCE = "pulsegrid";
/** The audience of a key-rotation statement (docs/PROTOCOL.md "Rotating a node's key"): never a node token. */
export const ROTATE_AUDIENCE = "pulsegrid:rotate-key";
/** Tokens live two minutes: well inside the coordinator's five-minute cap. */
export const TOKEN_LIFETIME_S = 120;

export interface Identity {
	/** Raw 32-byte Ed25519 public key, base64url: what POST /v1/nodes takes. */
	publicKey: string;
	privateJwk: JWK;
}

export function generateIdentity(): Identity {
	const { publicKey, privateKey } = generateKeyPairSync("ed25519");
	const jwk = privateKey.export({ format: "jwk" }) as JWK;
	return { publicKey: (publicKey.export({ format: "jwk" }) as JWK).x as string, privateJwk: jwk };
}

/** Signs tokens for one node; the private key is imported once. */
export class TokenSigner {
	private readonly key: ReturnType<typeof importJWK>;
	// A plain field, not a parameter property: Node runs this file by stripping types, which cannot rewrite those.
	private readonly nodeId: string;

	constructor(identity: Identity, nodeId: string) {
		this.nodeId = nodeId;
		this.key = importJWK(identity.privateJwk, "EdDSA");
	}

	async mint(now = Date.now()): Promise<string> {
		return this.sign({}, TOKEN_AUDIENCE, now);
	}

	/** A statement, signed by this (the current) key, that the node's key is now `newPublicKey`. */
	async mintRotation(newPublicKey: string, now = Date.now()): Promise<string> {
		return this.sign({ new_public_key: newPublicKey }, ROTATE_AUDIENCE, now);
	}

	private async sign(claims: Record<string, string>, audience: string, now: number): Promise<string> {
		const iat = Math.floor(now / 1000);
		return new SignJWT(claims)
			.setProtectedHeader({ alg: "EdDSA", typ: "JWT" })
			.setSubject(this.nodeId)
			.setAudience(audience)
			.setIssuedAt(iat)
			.setExpirationTime(iat + TOKEN_LIFETIME_S)
			.setJti(randomUUID())
			.sign(await this.key);
	}
}
