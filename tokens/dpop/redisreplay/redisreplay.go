package redisreplay

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ztkit/ztkit/internal/replaydefer"
	"github.com/ztkit/ztkit/internal/replaykey"
	"github.com/ztkit/ztkit/tokens/dpop"
)

const (
	defaultKeyPrefix = "ztkit:dpop:jti:"
	defaultTimeout   = 250 * time.Millisecond
	// encodedKeySize is the length of the unpadded base64url hash in each key (43).
	encodedKeySize = (replaykey.Size*8 + 5) / 6
)

// Compile-time checks that Store satisfies the interfaces.
var (
	_ dpop.ReplayStore     = (*Store)(nil)
	_ replaydefer.Deferrer = (*Store)(nil)
	_ replaydefer.Check    = (*setNX)(nil)
)

// Store is a [dpop.ReplayStore] backed by Redis.
//
// A Store does not own its client: it never closes it and has no Close method of
// its own. Close the client after the last call. Store is safe for concurrent use
// (as go-redis clients are). Create one with [New]; the zero value is not usable
// and fails closed, returning an error matching [dpop.ErrReplayCheckUnavailable].
type Store struct {
	client  redis.UniversalClient
	prefix  string
	timeout time.Duration
}

// Option configures [New].
type Option interface {
	apply(*config)
}

// config is what the options set.
type config struct {
	prefix  string
	timeout time.Duration
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithKeyPrefix sets the prefix of every key the store writes. The default is
// "ztkit:dpop:jti:". Give each service that must not share replay state its own
// prefix (or its own Redis). On Redis Cluster, a prefix holding a hash tag such
// as "{dpop}" puts every key in one slot, and so on one node. [New] returns
// [dpop.ErrInvalidConfig] when prefix is empty.
func WithKeyPrefix(prefix string) Option {
	return optionFunc(func(c *config) { c.prefix = prefix })
}

// WithTimeout bounds each [Store.CheckAndStore], including waits for a pooled
// connection and retries, whether or not the caller's context has a deadline;
// a shorter deadline on that context still wins. The default is 250ms. [New]
// returns [dpop.ErrInvalidConfig] when d is zero or negative.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// New returns a [Store] that keeps proofs in the Redis that client talks to. The
// client can be any [redis.UniversalClient]: a single server, Sentinel
// (failover) or Cluster client. New does not contact Redis. It returns an error
// matching [dpop.ErrInvalidConfig] when client is nil or an option is out of
// range. Nil options are ignored.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if isNil(client) {
		return nil, fmt.Errorf("%w: redisreplay: nil Redis client", dpop.ErrInvalidConfig)
	}
	c := &config{prefix: defaultKeyPrefix, timeout: defaultTimeout}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	if c.prefix == "" {
		return nil, fmt.Errorf("%w: redisreplay: empty key prefix", dpop.ErrInvalidConfig)
	}
	if c.timeout <= 0 {
		return nil, fmt.Errorf("%w: redisreplay: timeout must be positive, got %s", dpop.ErrInvalidConfig, c.timeout)
	}
	return &Store{client: client, prefix: c.prefix, timeout: c.timeout}, nil
}

// isNil reports whether client is nil or a nil pointer to one of go-redis's
// client types, which would panic on first use.
func isNil(client redis.UniversalClient) bool {
	switch c := client.(type) {
	case nil:
		return true
	case *redis.Client:
		return c == nil
	case *redis.ClusterClient:
		return c == nil
	case *redis.Ring:
		return c == nil
	}
	return false
}

// result is the outcome of one SET NX.
type result struct {
	stored bool
	err    error
}

// CheckAndStore implements [dpop.ReplayStore] with one SET NX: it returns nil when
// the key for (jkt, jti) was created, [dpop.ErrReplayed] when it already existed,
// and an error matching [dpop.ErrReplayCheckUnavailable] for any Redis error,
// when the call takes longer than the timeout ([WithTimeout]) or when ctx ends
// first. Errors never contain jkt or jti.
//
// The key expires at expiry, rounded up to the millisecond, measured on this
// process's clock (Redis's clock does not matter); an expiry less than one second
// away is stored for one second. A check that timed out may still have stored
// the key: the proof was refused, and presenting it again yields [dpop.ErrReplayed].
//
// The timeout holds even for a client whose socket timeouts ignore contexts
// (go-redis's default, ContextTimeoutEnabled false): the command then runs on its
// own goroutine, which the go-redis timeouts (ReadTimeout, three seconds by
// default) end after CheckAndStore has returned.
func (s *Store) CheckAndStore(ctx context.Context, jkt, jti string, expiry time.Time) error {
	if s == nil || s.client == nil {
		return fmt.Errorf("%w: redisreplay: store not created by New", dpop.ErrReplayCheckUnavailable)
	}
	return s.check(jkt, jti, expiry).Run(ctx)
}

// DeferReplay is for ztkit's own packages: package guard has the check of a
// proof it verifies sent in the same Redis pipeline as the first velocity
// count of the request (package risk/rediscounter), when both use the same
// client, and answers nothing before its verdict. c is a collector only
// package guard creates, in the context of guard.Check; no other code can
// make one, and a nil c records nothing. as is the replay store as the
// caller holds it: s defers only when as is s itself, so that a store of
// the user's own that embeds a *Store (and so has this method) is checked
// through its own CheckAndStore. DeferReplay reports whether it recorded
// the check in c; when it did not, the caller must call CheckAndStore on
// as. The deferred check sends the command and returns the verdicts
// [Store.CheckAndStore] would.
func (s *Store) DeferReplay(c *replaydefer.Collector, as any, jkt, jti string, expiry time.Time) bool {
	if self, ok := as.(*Store); s == nil || s.client == nil || !ok || self != s {
		return false
	}
	return c.Defer(s.check(jkt, jti, expiry))
}

// check is the SET NX of (jkt, jti) until expiry, ready to run alone or in
// a pipeline. The TTL is computed now, when the proof was verified.
func (s *Store) check(jkt, jti string, expiry time.Time) *setNX {
	ttl := time.Until(expiry)
	if ttl < replaykey.MinTTL {
		ttl = replaykey.MinTTL
	}
	// Round up so that the key outlives expiry: go-redis truncates to milliseconds.
	ttl = (ttl + time.Millisecond - 1).Truncate(time.Millisecond)
	return &setNX{s: s, key: s.key(jkt, jti), ttl: ttl}
}

// setNX is one replay check: SET key 1 NX PX ttl. It implements
// replaydefer.Check.
type setNX struct {
	s   *Store
	key string
	ttl time.Duration
}

func (c *setNX) Client() any            { return c.s.client }
func (c *setNX) Timeout() time.Duration { return c.s.timeout }

// Queue queues the SET NX on pipe, a redis.Pipeliner, and returns what
// reads its verdict after Exec.
func (c *setNX) Queue(ctx context.Context, pipe any) func() error {
	p, ok := pipe.(redis.Pipeliner)
	if !ok {
		return func() error {
			return fmt.Errorf("%w: redisreplay: not a Redis pipeline", dpop.ErrReplayCheckUnavailable)
		}
	}
	cmd := p.SetNX(ctx, c.key, "1", c.ttl)
	return func() error { return verdict(cmd.Result()) }
}

// Run sends the SET NX alone, within the store's timeout.
func (c *setNX) Run(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: redisreplay: %w", dpop.ErrReplayCheckUnavailable, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.s.timeout)
	defer cancel()
	done := make(chan result, 1) // buffered: the goroutine never blocks on a caller that left
	go func() {
		stored, err := c.s.client.SetNX(ctx, c.key, "1", c.ttl).Result()
		done <- result{stored: stored, err: err}
	}()
	select {
	case r := <-done:
		return verdict(r.stored, r.err)
	case <-ctx.Done():
		return fmt.Errorf("%w: redisreplay: SET NX: %w", dpop.ErrReplayCheckUnavailable, ctx.Err())
	}
}

// verdict is the answer to a SET NX that stored the key or not, or failed.
func verdict(stored bool, err error) error {
	switch {
	case err != nil:
		return fmt.Errorf("%w: redisreplay: SET NX: %w", dpop.ErrReplayCheckUnavailable, err)
	case !stored:
		return dpop.ErrReplayed
	}
	return nil
}

// key returns the Redis key for (jkt, jti): the prefix followed by the unpadded
// base64url encoding of [replaykey.Sum].
func (s *Store) key(jkt, jti string) string {
	sum := replaykey.Sum(jkt, jti)
	var enc [64]byte
	base64.RawURLEncoding.Encode(enc[:], sum[:])
	var b strings.Builder
	b.Grow(len(s.prefix) + encodedKeySize)
	b.WriteString(s.prefix)
	b.Write(enc[:encodedKeySize])
	return b.String()
}
