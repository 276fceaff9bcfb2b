package redisauth_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/secrets/redisauth"
)

const (
	poolSize = 4
	workers  = 8
)

// newClient returns a go-redis client of addr authenticated by p, with no
// retries (a failed command is counted, never hidden by a retry), and its
// command counter.
func newClient(t *testing.T, addr string, p *redisauth.Provider) (*redis.Client, *commandCounter) {
	t.Helper()
	client := redis.NewClient(&redis.Options{
		Addr:                         addr,
		StreamingCredentialsProvider: p,
		PoolSize:                     poolSize,
		MaxRetries:                   -1,
	})
	counter := newCommandCounter()
	client.AddHook(counter)
	t.Cleanup(func() { _ = client.Close() })
	return client, counter
}

// load runs call from several goroutines until stop is closed, and returns
// how many calls were made and how many failed, with the first failure.
func load(stop <-chan struct{}, call func(ctx context.Context, worker, i int) error) (calls, failures *atomic.Int64, first *atomic.Value, wait func()) {
	calls, failures, first = &atomic.Int64{}, &atomic.Int64{}, &atomic.Value{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := call(ctx, w, i)
				cancel()
				calls.Add(1)
				if err != nil {
					failures.Add(1)
					first.CompareAndSwap(nil, err.Error())
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	return calls, failures, first, wg.Wait
}

// A pool of connections used from several goroutines keeps working across
// several rotations of real Redis ACL users, each deleted when its lease
// ends: zero failed commands, the connections re-authenticated rather than
// dialed again, and the old users gone.
func TestRotationsWithZeroFailedCommands(t *testing.T) {
	addr, admin := privateRedis(t)
	backend := newACLBackend(t, admin, 2*time.Second)
	ctx := context.Background()
	src, err := secrets.NewSource(ctx, "cache", backend)
	require.NoError(t, err)
	t.Cleanup(func() { _ = src.Close() })
	rotated := rotations(t, src)
	p, err := redisauth.New(src)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	client, counter := newClient(t, addr, p)

	var mu sync.Mutex
	servedBy := map[string]int{} // the user each command ran as
	stop := make(chan struct{})
	calls, failures, first, wait := load(stop, func(ctx context.Context, w, i int) error {
		key := "ztkit-test:redisauth:" + t.Name()
		if err := client.Incr(ctx, key).Err(); err != nil {
			return err
		}
		user, err := client.Do(ctx, "ACL", "WHOAMI").Text()
		if err != nil {
			return err
		}
		mu.Lock()
		servedBy[user]++
		mu.Unlock()
		return nil
	})

	const wantRotations = 4
	require.Eventually(t, func() bool { return rotated.Load() >= wantRotations },
		30*time.Second, 10*time.Millisecond, "the source did not rotate %d times", wantRotations)
	// Keep the load on until every user but the current one is deleted: a
	// connection still authenticated as one would be closed by Redis.
	require.Eventually(t, func() bool {
		issued, deleted := backend.users()
		return len(deleted) >= wantRotations && len(deleted) >= len(issued)-1
	}, 10*time.Second, 10*time.Millisecond, "old users were not deleted")
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wait()

	issued, deleted := backend.users()
	t.Logf("%d commands by %d goroutines on a pool of %d, %d rotations, %d users issued, %d dials, %d AUTH, pool %+v",
		calls.Load(), workers, poolSize, rotated.Load(), len(issued), counter.dials.Load(), counter.count("auth"), *client.PoolStats())
	assert.Zero(t, failures.Load(), "failed commands; first: %v", first.Load())
	assert.Positive(t, calls.Load())
	// Each rotation re-authenticated pooled connections in place (AUTH on an
	// open connection; a new connection authenticates with HELLO). go-redis
	// may also replace a connection whose re-authentication it could not
	// schedule in time, and serves commands on extra connections while the
	// pool's are being re-authenticated: both are dials, never failures.
	assert.GreaterOrEqual(t, counter.count("auth"), wantRotations, "connections were not re-authenticated")

	mu.Lock()
	defer mu.Unlock()
	assert.GreaterOrEqual(t, len(servedBy), wantRotations, "commands ran as %d users", len(servedBy))
	for _, user := range issued[:len(issued)-1] {
		assert.True(t, deleted[user], "user %s not deleted", user)
		err := admin.Do(ctx, "ACL", "GETUSER", user).Err()
		assert.ErrorIs(t, err, redis.Nil, "user %s still exists in Redis", user)
	}
	for user := range servedBy {
		assert.Contains(t, issued, user, "a command ran as a user the backend did not issue")
	}
}

// When the credential expired with no replacement, a new connection is
// refused with the typed error, without sending Redis any credentials; the
// client recovers by itself once the backend issues again.
func TestExpiredSourceRefusesNewConnections(t *testing.T) {
	addr, admin := privateRedis(t)
	backend := newACLBackend(t, admin, time.Second)
	ctx := context.Background()
	src, err := secrets.NewSource(ctx, "cache", backend, secrets.WithBackoff(20*time.Millisecond, 100*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = src.Close() })
	p, err := redisauth.New(src)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })

	before, _ := newClient(t, addr, p)
	require.NoError(t, before.Ping(ctx).Err())

	backend.setAvailable(false)
	waitExpired(t, src, 10*time.Second)

	client, counter := newClient(t, addr, p)
	err = client.Ping(ctx).Err()
	require.Error(t, err)
	var credErr *redisauth.CredentialsError
	require.ErrorAs(t, err, &credErr)
	assert.Equal(t, "cache", credErr.Source)
	assert.ErrorIs(t, err, secrets.ErrExpired)
	assert.ErrorIs(t, err, secrets.ErrUnavailable, "the cause of the last failure")
	assert.Zero(t, counter.count("hello")+counter.count("auth"), "credentials were sent")

	user, pass, err := p.Credentials(ctx)
	assert.ErrorIs(t, err, secrets.ErrExpired)
	assert.True(t, user == "" && pass == "", "credentials returned with an error")

	backend.setAvailable(true)
	require.Eventually(t, func() bool { return client.Ping(ctx).Err() == nil },
		10*time.Second, 20*time.Millisecond, "the client did not recover")
	var got *redisauth.CredentialsError
	assert.False(t, errors.As(client.Ping(ctx).Err(), &got))
}
