// Package rediscounter is a velocity counter store ([risk.Counter]) kept in
// Redis, so that every replica of a service sees the same sliding-window counts:
// a card tested on one replica counts on all of them.
//
// # One round trip
//
// Each [Counter.Count] is one EVALSHA of a Lua script over every window of the
// call (falling back to EVAL once when Redis answers NOSCRIPT, after a restart or
// SCRIPT FLUSH), so a decision costs one round trip however many windows its
// policy reads, and the script runs atomically: concurrent increments from any
// number of replicas are never lost.
//
// # Buckets, not one member per event
//
// A window of length L is a Redis hash of at most 33 fields: the window is split
// into 16 buckets of L/16 (bucket = now / (L/16)), each field counting the events
// of one bucket. A window counts the events of its last 16 buckets, exactly as
// [risk.MemoryCounter] does: every event younger than 15/16 L is counted, none
// older than L, so a policy behaves the same on one replica and on many. The
// trade-off, chosen on purpose: a sorted set with one member per event would be
// exact at the window's edge, but it costs a member (about 80 bytes) per event, a
// number the attacker chooses (a card-testing or credential-stuffing burst
// against one card or network); buckets cost the same few hundred bytes per
// window whatever the traffic, and the script's work per window is bounded too.
// Counts themselves are exact; only the edge of the window has the resolution
// L/16. Windows shorter than 16µs are counted in 1µs buckets.
//
// Buckets are taken from the now that the caller passes (the replica's clock):
// replicas whose clocks differ by d disagree about the edge of a window by d.
// A bucket is deleted only once it is two windows old, so that a replica whose
// clock runs ahead by up to a window never deletes buckets the others still
// count.
//
// # Keys
//
// Each window is one key: the prefix ("ztkit:risk:ctr:" by default) followed by
// the unpadded base64url HMAC-SHA-256 (with [WithHashKey]) or SHA-256 of the
// window's event, key kind, value and length. No customer, card, device key or
// IP prefix appears in a key name. Without a hash key, the prefix salts the
// SHA-256, but anyone who can list the keys can still test guesses (there are
// only 2^24 IPv4 /24 prefixes): give each deployment a secret [WithHashKey].
// Keys expire one window length (plus a bucket, and at least a second) after
// their last event; a read (Add 0) never creates or extends a key.
//
// On Redis Cluster (and with a Ring) every key of one script must live in one
// hash slot: [New] requires a prefix with a hash tag, such as
// "ztkit:risk:{ctr}:", which puts every counter on one node.
//
// # Failures
//
// The store fails closed: any Redis error, a reply it does not expect, the
// timeout ([WithTimeout]) or the caller's context ending returns an error
// matching [risk.ErrCounterUnavailable], never a zero count, and the engine
// applies the action's on_counter_error outcome. Errors never contain a value.
// Nothing is cached: when Redis answers again, the next call succeeds.
//
// How fast a decision falls back while Redis is down also depends on the
// client: go-redis by default dials up to five times, 100 ms apart, and
// retries a failed command, and the work goes on in the background after
// [WithTimeout] has answered (ztkit's guard tests saw about a second per
// decision with those defaults). Set DialerRetries and MaxRetries to 1 on the
// client the counter uses, with ContextTimeoutEnabled.
//
// # With the DPoP replay check
//
// A request that needs both the DPoP replay check (tokens/dpop/redisreplay)
// and a count makes one round trip when package guard decides it and both
// stores use the same go-redis client (the same [redis.UniversalClient]
// value): guard.Check lets the proof's replay check wait, and the request's
// first Count sends the check's SET NX and its own EVALSHA on one
// [redis.Pipeliner] (one Exec; on Cluster, go-redis sends each node its
// commands in parallel, so the replay key need not be in the counters'
// slot). The pipeline is bounded by the shorter of this counter's timeout
// and the replay store's; whatever happens to it (Redis down, a timeout, the
// caller's context ending), the check gets a verdict, and the guard refuses
// the proof unless that verdict is "new". A NOSCRIPT answer costs an EVAL,
// a second round trip, as without the check. Only the first Count of a
// request carries the check: a rate limit and then a risk decision on
// counters make two round trips (three without it). With another client,
// or no count, the guard sends the check alone: two round trips, as before.
// Outside guard.Check, Count sends only its script. The counts of a request
// whose proof turns out replayed are kept: see package guard, "One Redis
// round trip", for what that means and why it is accepted.
//
// Usage:
//
//	// ContextTimeoutEnabled: go-redis honours deadlines itself, the cheaper path.
//	client := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
//	defer client.Close()
//	ctr, err := rediscounter.New(client, rediscounter.WithHashKey(hashKey))
//	if err != nil {
//		return err
//	}
//	eng, err := risk.Watch(ctx, "/etc/shop/risk.json", risk.WithCounter(ctr))
//
// As with any Redis store: prefer maxmemory-policy noeviction, since an evicted
// window forgets events, which can only lower counts.
package rediscounter
