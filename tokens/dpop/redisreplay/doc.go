// Package redisreplay is a DPoP proof replay store ([dpop.ReplayStore]) kept in
// Redis, so that every replica of a service refuses a proof any of them has
// already accepted (RFC 9449 §11.1).
//
// Each check is one atomic command on one key,
//
//	SET <prefix><base64url(SHA-256 of jkt and jti)> 1 NX PX <ms until expiry>
//
// (EX when the time left is a whole number of seconds), so it works the same on a
// single server, behind Sentinel and on Redis Cluster, and the store needs no
// permission beyond SET on keys under its prefix ("ztkit:dpop:jti:" by default).
// Keys never contain the raw jti or key thumbprint, and all have the same length.
//
// The store fails closed: when Redis cannot answer within the timeout, the check
// returns an error matching [dpop.ErrReplayCheckUnavailable] and the proof must
// be refused.
//
// # In one round trip with the risk counters
//
// Inside guard.Check, for a guard with a rate-limit or risk step, the SET NX
// of a proof the guard verifies waits for the request's first velocity count
// on risk/rediscounter and goes in the same pipeline when both use the same
// go-redis client: one round trip for both (see package guard, "One Redis
// round trip"). The guard answers nothing before the verdict and refuses
// the proof as above: replayed (dpop_replayed) or unavailable
// (dpop_replay_unavailable, fail closed), whatever its other steps said.
// Everywhere else (an authenticator or dpop.Verifier used alone, any other
// caller) each check is sent when it is asked for, and so is the check of a
// store of your own that embeds a *Store: its CheckAndStore runs, never
// the promoted DeferReplay. [Store.DeferReplay] is the hook the guard
// uses; it takes a collector only the guard can create.
//
// Usage:
//
//	client := redis.NewClient(&redis.Options{Addr: "redis:6379"})
//	defer client.Close()
//	store, err := redisreplay.New(client)
//	if err != nil {
//		return err
//	}
//	// Pass store wherever a dpop.ReplayStore is expected.
//
// Redis must keep what it is told: a server that loses its data (a restart
// without persistence, a failover before replication) or evicts keys under
// memory pressure forgets proofs, which can then be replayed until they expire.
// Prefer maxmemory-policy noeviction (a full Redis then refuses the SET, and the
// store fails closed) and replication or AOF if a restart must not reopen replay.
package redisreplay
