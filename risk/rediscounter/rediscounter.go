package rediscounter

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ztkit/ztkit/internal/replaydefer"
	"github.com/ztkit/ztkit/risk"
)

const (
	defaultKeyPrefix = "ztkit:risk:ctr:"
	defaultTimeout   = 250 * time.Millisecond
	// buckets is how many buckets a window is split into, as in risk.MemoryCounter.
	buckets = 16
	// minWidth keeps bucket numbers below 2^53, exact in Lua's doubles.
	minWidth = time.Microsecond
	// minTTL is the shortest life of a key (see Count).
	minTTL = time.Second
	// minHashKey is the shortest hash key WithHashKey accepts.
	minHashKey = 16
	// domain separates these hashes from any other use.
	domain = "ztkit/risk/counter/v1\x00"
	// encodedKeySize is the length of the unpadded base64url hash in each key (43).
	encodedKeySize = (sha256.Size*8 + 5) / 6
)

// ErrInvalidConfig: [New] was given a nil client or an option out of range.
var ErrInvalidConfig = errors.New("rediscounter: invalid configuration")

// Compile-time check that Counter satisfies the interface.
var _ risk.Counter = (*Counter)(nil)

// scriptSrc counts every window of one call. KEYS[i] is window i's key; ARGV holds,
// per window, its bucket now, the events to add and the key's TTL in
// milliseconds. Buckets in (now−16, now] are counted. Buckets at or below
// now−32 are deleted: not now−16, since a replica whose clock runs ahead
// (by up to a window) would then delete buckets the others still count,
// lowering every replica's counts. Buckets after now (a replica whose clock
// runs ahead) are kept but not counted. 16 is buckets.
const scriptSrc = `
local out = {}
for i = 1, #KEYS do
  local k = KEYS[i]
  local b = ARGV[3*i-2]
  local now = tonumber(b)
  if tonumber(ARGV[3*i-1]) ~= 0 then
    redis.call('HINCRBY', k, b, ARGV[3*i-1])
    redis.call('PEXPIRE', k, ARGV[3*i])
  end
  local all = redis.call('HGETALL', k)
  local sum = 0
  for j = 1, #all, 2 do
    local f = tonumber(all[j])
    if f <= now - 32 then
      redis.call('HDEL', k, all[j])
    elseif f > now - 16 and f <= now then
      sum = sum + tonumber(all[j+1])
    end
  end
  out[i] = sum
end
return out
`

// Counter is a [risk.Counter] backed by Redis, shared by every replica that
// talks to the same Redis with the same prefix and hash key.
//
// A Counter does not own its client: it never closes it and has no Close
// method. Close the client after the last call. Counter is safe for concurrent
// use (as go-redis clients are). Create one with [New]; the zero value is not
// usable and fails closed, returning an error matching
// [risk.ErrCounterUnavailable].
type Counter struct {
	client  redis.UniversalClient
	prefix  string
	hashKey []byte
	timeout time.Duration
	// inline: the client honours context deadlines (ContextTimeoutEnabled),
	// so the script runs on the caller's goroutine.
	inline bool
	script *redis.Script
}

// Option configures [New].
type Option interface {
	apply(*config)
}

type config struct {
	prefix  string
	hashKey []byte
	timeout time.Duration
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithKeyPrefix sets the prefix of every key the counter writes. The default is
// "ztkit:risk:ctr:". Give each service that must not share counts its own prefix
// (or its own Redis). On Redis Cluster and with a Ring the prefix must hold a
// hash tag, such as "ztkit:risk:{ctr}:", so that every window of one call is in
// one slot. [New] returns [ErrInvalidConfig] when prefix is empty.
func WithKeyPrefix(prefix string) Option {
	return optionFunc(func(c *config) { c.prefix = prefix })
}

// WithHashKey sets the secret under which key names are derived (HMAC-SHA-256),
// so that someone who can list Redis keys cannot test guesses of a customer, a
// card fingerprint or an IP prefix. Every replica sharing counts must use the
// same key; changing it starts every window afresh. The counter copies key.
// [New] returns [ErrInvalidConfig] when key is shorter than 16 bytes; nil keeps
// the default, SHA-256 salted with the prefix (see the package documentation).
func WithHashKey(key []byte) Option {
	return optionFunc(func(c *config) {
		if key != nil {
			c.hashKey = append(make([]byte, 0, len(key)), key...)
		}
	})
}

// WithTimeout bounds each [Counter.Count], including waits for a pooled
// connection and retries, whether or not the caller's context has a deadline;
// a shorter deadline on that context still wins. The default is 250ms. [New]
// returns [ErrInvalidConfig] when d is zero or negative.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// New returns a [Counter] that keeps windows in the Redis that client talks
// to: a single server, Sentinel (failover), Cluster or Ring client. New does not
// contact Redis. It returns an error matching [ErrInvalidConfig] when client is
// nil, an option is out of range, or a Cluster or Ring client comes with a
// prefix without a hash tag. Nil options are ignored.
func New(client redis.UniversalClient, opts ...Option) (*Counter, error) {
	if isNil(client) {
		return nil, fmt.Errorf("%w: nil Redis client", ErrInvalidConfig)
	}
	c := &config{prefix: defaultKeyPrefix, timeout: defaultTimeout}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	if c.prefix == "" {
		return nil, fmt.Errorf("%w: empty key prefix", ErrInvalidConfig)
	}
	if c.timeout <= 0 {
		return nil, fmt.Errorf("%w: timeout must be positive, got %s", ErrInvalidConfig, c.timeout)
	}
	if c.hashKey != nil && len(c.hashKey) < minHashKey {
		return nil, fmt.Errorf("%w: hash key shorter than %d bytes", ErrInvalidConfig, minHashKey)
	}
	switch client.(type) {
	case *redis.ClusterClient, *redis.Ring:
		if !hasHashTag(c.prefix) {
			return nil, fmt.Errorf("%w: a Cluster or Ring client needs a key prefix with a hash tag, such as %q", ErrInvalidConfig, "ztkit:risk:{ctr}:")
		}
	}
	return &Counter{client: client, prefix: c.prefix, hashKey: c.hashKey, timeout: c.timeout,
		inline: contextTimeouts(client), script: redis.NewScript(scriptSrc)}, nil
}

// contextTimeouts reports whether client's socket timeouts follow context
// deadlines (ContextTimeoutEnabled in its options).
func contextTimeouts(client redis.UniversalClient) bool {
	switch c := client.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return false
}

// hasHashTag reports whether prefix holds a non-empty {tag}, which decides a
// key's slot on Redis Cluster whatever follows it.
func hasHashTag(prefix string) bool {
	i := strings.IndexByte(prefix, '{')
	if i < 0 {
		return false
	}
	j := strings.IndexByte(prefix[i+1:], '}')
	return j > 0
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

type result struct {
	counts []any
	err    error
}

// Count implements [risk.Counter] in one EVALSHA over every window with a
// Value (a window without one is left at Count 0 and not sent). It returns an
// error matching [risk.ErrCounterUnavailable] for any Redis error, an unexpected
// reply, when the call takes longer than the timeout ([WithTimeout]) or when ctx
// ends first; the windows' counts are then zero and must not be used. A call
// that timed out may still have counted its events. Errors never contain a
// window's value.
//
// A client created with ContextTimeoutEnabled (a [redis.Client],
// [redis.ClusterClient] or [redis.Ring]) runs the script on the caller's
// goroutine and go-redis itself ends it at the deadline: prefer it, it is the
// cheaper path. The timeout holds for other clients too, whose socket
// timeouts ignore contexts (go-redis's default): the script then runs on its
// own goroutine, which the go-redis timeouts end after Count has returned.
//
// Inside guard.Check, the first Count of a request may also carry the DPoP
// replay check of its proof, in the same pipeline (see the package
// documentation, "With the DPoP replay check"); the counts are the same.
func (c *Counter) Count(ctx context.Context, now time.Time, windows []risk.Window) error {
	for i := range windows {
		windows[i].Count = 0
	}
	if c == nil || c.client == nil || c.script == nil {
		return fmt.Errorf("%w: rediscounter: counter not created by New", risk.ErrCounterUnavailable)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: rediscounter: %w", risk.ErrCounterUnavailable, err)
	}
	t := now.UnixNano()
	keys := make([]string, 0, len(windows))
	args := make([]any, 0, 3*len(windows))
	var h hash.Hash
	for i := range windows {
		w := &windows[i]
		if w.Value == "" || w.Length <= 0 {
			continue
		}
		width := max(w.Length/buckets, minWidth)
		bucket := t / int64(width)
		if t < 0 && t%int64(width) != 0 {
			bucket-- // floor, as for a time before 1970
		}
		// At least minTTL: Redis expires keys on its own clock, which may run
		// ahead of the caller's now; a window of microseconds must not vanish
		// between two calls a millisecond apart.
		ttl := (max(w.Length+width, minTTL) + time.Millisecond - 1) / time.Millisecond
		if h == nil {
			h = c.newHash()
		}
		keys = append(keys, c.key(h, w))
		args = append(args, bucket, w.Add, int64(ttl))
	}
	if len(keys) == 0 {
		return nil
	}

	var r result
	if check := replaydefer.FromContext(ctx).Take(c.client); check != nil {
		// guard.Check deferred the request's DPoP replay check: it goes in
		// this round trip.
		r = c.pipelined(ctx, check, keys, args)
	} else {
		r = c.run(ctx, keys, args)
	}
	if r.err != nil {
		return fmt.Errorf("%w: rediscounter: EVALSHA: %w", risk.ErrCounterUnavailable, r.err)
	}
	if len(r.counts) != len(keys) {
		return fmt.Errorf("%w: rediscounter: %d counts for %d windows", risk.ErrCounterUnavailable, len(r.counts), len(keys))
	}
	j := 0
	for i := range windows {
		w := &windows[i]
		if w.Value == "" || w.Length <= 0 {
			continue
		}
		n, ok := r.counts[j].(int64)
		if !ok {
			for k := range windows[:i] {
				windows[k].Count = 0
			}
			return fmt.Errorf("%w: rediscounter: unexpected reply %T", risk.ErrCounterUnavailable, r.counts[j])
		}
		w.Count = n
		j++
	}
	return nil
}

// run sends the script alone, within the counter's timeout.
func (c *Counter) run(ctx context.Context, keys []string, args []any) result {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if c.inline {
		// Run sends EVALSHA, and EVAL once on NOSCRIPT.
		counts, err := c.script.Run(ctx, c.client, keys, args...).Slice()
		if err != nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		return result{counts: counts, err: err}
	}
	done := make(chan result, 1) // buffered: the goroutine never blocks on a caller that left
	go func() {
		counts, err := c.script.Run(ctx, c.client, keys, args...).Slice()
		done <- result{counts: counts, err: err}
	}()
	select {
	case r := <-done:
		return r
	case <-ctx.Done():
		return result{err: ctx.Err()}
	}
}

// pipelined sends check (a DPoP replay check's SET NX) and the script's
// EVALSHA in one pipeline, one round trip, within the shorter of the
// counter's and the check's timeouts, and settles check with its verdict
// whatever happens. A NOSCRIPT answer (after a restart or SCRIPT FLUSH)
// costs a second round trip, an EVAL, as it does without a pipeline.
func (c *Counter) pipelined(ctx context.Context, check replaydefer.Check, keys []string, args []any) (r result) {
	col := replaydefer.FromContext(ctx)
	replay := fmt.Errorf("%w: rediscounter: pipeline not run", replaydefer.ErrNotRun)
	defer func() { col.Settle(replay) }()
	ctx, cancel := context.WithTimeout(ctx, min(c.timeout, check.Timeout()))
	defer cancel()
	exec := func() (result, error) {
		pipe := c.client.Pipeline()
		verdict := check.Queue(ctx, pipe)
		cmd := pipe.EvalSha(ctx, c.script.Hash(), keys, args...)
		_, _ = pipe.Exec(ctx) // each command carries its own error
		replay := verdict()
		counts, err := cmd.Slice()
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			counts, err = c.script.Eval(ctx, c.client, keys, args...).Slice()
		}
		if err != nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		return result{counts: counts, err: err}, replay
	}
	if c.inline {
		r, replay = exec()
		return r
	}
	type both struct {
		r      result
		replay error
	}
	done := make(chan both, 1) // buffered: the goroutine never blocks on a caller that left
	go func() {
		r, replay := exec()
		done <- both{r, replay}
	}()
	select {
	case b := <-done:
		r, replay = b.r, b.replay
	case <-ctx.Done():
		r = result{err: ctx.Err()}
		replay = fmt.Errorf("%w: rediscounter: pipeline: %w", replaydefer.ErrNotRun, ctx.Err())
	}
	return r
}

func (c *Counter) newHash() hash.Hash {
	if c.hashKey != nil {
		return hmac.New(sha256.New, c.hashKey)
	}
	return sha256.New()
}

// key returns the Redis key of w: the prefix followed by the unpadded base64url
// of the (keyed) hash of an unambiguous, length-prefixed encoding of the
// prefix (when unkeyed), event, key kind, value and length.
func (c *Counter) key(h hash.Hash, w *risk.Window) string {
	h.Reset()
	var n [8]byte
	write := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	h.Write([]byte(domain))
	if c.hashKey == nil {
		write(c.prefix)
	}
	write(w.Event)
	h.Write([]byte{byte(w.Key)})
	write(w.Value)
	binary.BigEndian.PutUint64(n[:], uint64(w.Length))
	h.Write(n[:])
	var sum [sha256.Size]byte
	var enc [encodedKeySize]byte
	base64.RawURLEncoding.Encode(enc[:], h.Sum(sum[:0]))
	return c.prefix + string(enc[:])
}
