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
