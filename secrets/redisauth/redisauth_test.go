package redisauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/secrets/redisauth"
)

// canary is the password every generated credential starts with; it must
// never appear in anything printed, logged or returned as an error.
const canary = "canary-9f2c-"

// recorder is a go-redis credentials listener that records what it gets.
type recorder struct {
	mu   sync.Mutex
	next []auth.Credentials
	errs []error
}

func (r *recorder) OnNext(c auth.Credentials) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next = append(r.next, c)
}

func (r *recorder) OnError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *recorder) got() ([]auth.Credentials, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]auth.Credentials(nil), r.next...), append([]error(nil), r.errs...)
}

// memorySource returns a Source over an in-memory backend whose credentials
// are made by gen (numbered users with canary passwords when gen is nil).
func memorySource(t *testing.T, ttl time.Duration, gen func() (map[string]string, error)) (*secrets.Source, *secrets.Memory) {
	t.Helper()
	if gen == nil {
		var n atomic.Int64
		gen = func() (map[string]string, error) {
			i := strconv.FormatInt(n.Add(1), 10)
			return map[string]string{"username": "app-" + i, "password": canary + i}, nil
		}
	}
	backend, err := secrets.NewMemory(gen, ttl, 10*ttl)
	require.NoError(t, err)
	src, err := secrets.NewSource(context.Background(), "cache", backend,
		secrets.WithBackoff(10*time.Millisecond, 50*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = src.Close() })
	return src, backend
}

func newProvider(t *testing.T, src *secrets.Source, opts ...redisauth.Option) *redisauth.Provider {
	t.Helper()
	p, err := redisauth.New(src, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// current returns the username and password of src's current credential.
func current(t *testing.T, src *secrets.Source) (string, string) {
	t.Helper()
	sec, err := src.Current()
	require.NoError(t, err)
	u, _ := sec.Reveal("username")
	p, _ := sec.Reveal("password")
	return u, p
}

func TestNewRefusesBadConfig(t *testing.T) {
	src, _ := memorySource(t, time.Hour, nil)
	for _, tc := range []struct {
		name string
		src  *secrets.Source
		opts []redisauth.Option
	}{
		{"nil source", nil, nil},
		{"empty password field", src, []redisauth.Option{redisauth.WithPasswordField("")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := redisauth.New(tc.src, tc.opts...)
			assert.Nil(t, p)
			assert.ErrorIs(t, err, secrets.ErrInvalidConfig)
			assert.True(t, strings.HasPrefix(err.Error(), "redisauth: "), err.Error())
		})
	}
	t.Run("nil options are ignored", func(t *testing.T) {
		_, err := redisauth.New(src, nil)
		assert.NoError(t, err)
	})
}

// Subscribe hands out the current credential, and every rotation reaches
// each subscribed listener once, until it unsubscribes.
func TestSubscribeAndRotate(t *testing.T) {
	ctx := context.Background()
	src, _ := memorySource(t, time.Hour, nil)
	p := newProvider(t, src)

	var a, b recorder
	credsA, unsubA, err := p.Subscribe(&a)
	require.NoError(t, err)
	wantUser, wantPass := current(t, src)
	user, pass := credsA.BasicAuth()
	assert.Equal(t, wantUser, user)
	assert.True(t, pass == wantPass, "Subscribe returned another password")
	assert.True(t, credsA.RawCredentials() == wantUser+":"+wantPass, "RawCredentials is not username:password")

	_, unsubB, err := p.Subscribe(&b)
	require.NoError(t, err)
	// go-redis subscribes a connection's listener again when it reconnects
	// it: that must not duplicate its notifications.
	_, unsubB2, err := p.Subscribe(&b)
	require.NoError(t, err)

	require.NoError(t, src.Rotate(ctx))
	wantUser, wantPass = current(t, src)
	for name, r := range map[string]*recorder{"a": &a, "b": &b} {
		next, errs := r.got()
		require.Len(t, next, 1, name)
		assert.Empty(t, errs, name)
		user, pass := next[0].BasicAuth()
		assert.Equal(t, wantUser, user, name)
		assert.True(t, pass == wantPass, "listener %s got another password", name)
	}

	// Every unsubscribe of b's subscriptions ends it; calling them again is
	// a no-op.
	require.NoError(t, unsubB2())
	require.NoError(t, unsubB())
	require.NoError(t, unsubB())
	require.NoError(t, src.Rotate(ctx))
	next, _ := a.got()
	assert.Len(t, next, 2, "a still subscribed")
	next, _ = b.got()
	assert.Len(t, next, 1, "b unsubscribed")

	require.NoError(t, unsubA())
	require.NoError(t, src.Rotate(ctx))
	next, _ = a.got()
	assert.Len(t, next, 2, "a unsubscribed")
}

// A renewal (the same credential, a longer lease) is not a rotation: the
// connections are not re-authenticated.
func TestRenewalIsNotARotation(t *testing.T) {
	src, _ := memorySource(t, 150*time.Millisecond, nil)
	p := newProvider(t, src)
	var r recorder
	_, _, err := p.Subscribe(&r)
	require.NoError(t, err)
	first, err := src.Current()
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		cur, err := src.Current()
		return err == nil && cur.Lease().ExpiresAt.After(first.Lease().ExpiresAt)
	}, 5*time.Second, 10*time.Millisecond, "the lease was not renewed")
	next, errs := r.got()
	assert.Empty(t, next)
	assert.Empty(t, errs)
}

func TestCredentialsContextForm(t *testing.T) {
	src, _ := memorySource(t, time.Hour, nil)
	p := newProvider(t, src)
	user, pass, err := p.Credentials(context.Background())
	require.NoError(t, err)
	wantUser, wantPass := current(t, src)
	assert.Equal(t, wantUser, user)
	assert.True(t, pass == wantPass, "Credentials returned another password")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	user, pass, err = p.Credentials(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	var credErr *redisauth.CredentialsError
	assert.ErrorAs(t, err, &credErr)
	assert.True(t, user == "" && pass == "", "credentials returned with an error")
}

func TestFieldNames(t *testing.T) {
	gen := func() (map[string]string, error) {
		return map[string]string{"user": "svc", "secret": canary + "x"}, nil
	}
	t.Run("custom names", func(t *testing.T) {
		src, _ := memorySource(t, time.Hour, gen)
		p := newProvider(t, src, redisauth.WithUsernameField("user"), redisauth.WithPasswordField("secret"))
		user, pass, err := p.Credentials(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "svc", user)
		assert.True(t, pass == canary+"x", "wrong password")
	})
	t.Run("password only", func(t *testing.T) {
		src, _ := memorySource(t, time.Hour, gen)
		p := newProvider(t, src, redisauth.WithUsernameField(""), redisauth.WithPasswordField("secret"))
		creds, _, err := p.Subscribe(&recorder{})
		require.NoError(t, err)
		user, pass := creds.BasicAuth()
		assert.Empty(t, user, "a username with WithUsernameField(\"\")")
		assert.True(t, pass == canary+"x", "wrong password")
	})
}

// A credential without the fields, or with an empty one, is refused: never
// empty credentials. A rotation to such a credential reaches the listeners
// as an error, and they keep the credential they have.
func TestMissingOrEmptyFieldFailsClosed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields map[string]string
	}{
		{"no username", map[string]string{"password": canary}},
		{"no password", map[string]string{"username": "app"}},
		{"empty username", map[string]string{"username": "", "password": canary}},
		{"empty password", map[string]string{"username": "app", "password": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, _ := memorySource(t, time.Hour, func() (map[string]string, error) { return tc.fields, nil })
			p := newProvider(t, src)
			creds, unsub, err := p.Subscribe(&recorder{})
			assert.Nil(t, creds)
			assert.Nil(t, unsub)
			assertCredentialsError(t, err, secrets.ErrInvalidSecret)

			user, pass, err := p.Credentials(context.Background())
			assertCredentialsError(t, err, secrets.ErrInvalidSecret)
			assert.True(t, user == "" && pass == "", "credentials returned with an error")
		})
	}

	t.Run("rotation to a bad credential", func(t *testing.T) {
		var bad atomic.Bool
		src, _ := memorySource(t, time.Hour, func() (map[string]string, error) {
			if bad.Load() {
				return map[string]string{"username": "app"}, nil
			}
			return map[string]string{"username": "app", "password": canary}, nil
		})
		p := newProvider(t, src)
		var r recorder
		_, _, err := p.Subscribe(&r)
		require.NoError(t, err)
		bad.Store(true)
		require.NoError(t, src.Rotate(context.Background()))
		next, errs := r.got()
		assert.Empty(t, next)
		require.Len(t, errs, 1)
		assertCredentialsError(t, errs[0], secrets.ErrInvalidSecret)
	})
}

// An expired Source refuses new connections with the typed error matching
// secrets.ErrExpired and the cause; it recovers when the backend is back.
func TestExpiredSourceFailsClosed(t *testing.T) {
	src, backend := memorySource(t, 200*time.Millisecond, nil)
	p := newProvider(t, src)
	backend.SetAvailable(false)
	waitExpired(t, src, 5*time.Second)

	creds, unsub, err := p.Subscribe(&recorder{})
	assert.Nil(t, creds)
	assert.Nil(t, unsub)
	assertCredentialsError(t, err, secrets.ErrExpired)
	assert.ErrorIs(t, err, secrets.ErrUnavailable)

	user, pass, err := p.Credentials(context.Background())
	assertCredentialsError(t, err, secrets.ErrExpired)
	assert.True(t, user == "" && pass == "", "credentials returned with an error")

	backend.SetAvailable(true)
	require.Eventually(t, func() bool {
		_, _, err := p.Subscribe(&recorder{})
		return err == nil
	}, 5*time.Second, 10*time.Millisecond, "the provider did not recover")
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	src, _ := memorySource(t, time.Hour, nil)
	p, err := redisauth.New(src)
	require.NoError(t, err)
	var r recorder
	_, _, err = p.Subscribe(&r)
	require.NoError(t, err)

	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "Close twice")
	require.NoError(t, src.Rotate(ctx))
	next, _ := r.got()
	assert.Empty(t, next, "a closed provider notified a listener")
	_, _, err = p.Subscribe(&recorder{})
	assertCredentialsError(t, err, secrets.ErrClosed)
	_, _, err = p.Credentials(ctx)
	assertCredentialsError(t, err, secrets.ErrClosed)

	// A closed Source: the same, with the Source's own error.
	p2 := newProvider(t, src)
	require.NoError(t, src.Close())
	_, _, err = p2.Subscribe(&recorder{})
	assertCredentialsError(t, err, secrets.ErrClosed)
}

// funcListener is a listener whose value cannot be compared.
type funcListener struct{ next func(auth.Credentials) }

func (l funcListener) OnNext(c auth.Credentials) { l.next(c) }
func (funcListener) OnError(error)               {}

func TestSubscribeListenerThatCannotBeCompared(t *testing.T) {
	src, _ := memorySource(t, time.Hour, nil)
	p := newProvider(t, src)
	var n atomic.Int64
	l := funcListener{next: func(auth.Credentials) { n.Add(1) }}
	_, unsub1, err := p.Subscribe(l)
	require.NoError(t, err)
	_, unsub2, err := p.Subscribe(l)
	require.NoError(t, err)
	require.NoError(t, src.Rotate(context.Background()))
	assert.Equal(t, int64(2), n.Load(), "registered once per Subscribe")
	require.NoError(t, unsub1())
	require.NoError(t, unsub2())
	require.NoError(t, src.Rotate(context.Background()))
	assert.Equal(t, int64(2), n.Load(), "unsubscribed")
}

func TestSubscribeNilListener(t *testing.T) {
	src, _ := memorySource(t, time.Hour, nil)
	p := newProvider(t, src)
	_, _, err := p.Subscribe(nil)
	assert.ErrorIs(t, err, secrets.ErrInvalidConfig)
}

// The credentials handed to go-redis, and the Provider, print, log and
// marshal without the password; errors carry no value either.
func TestNothingPrintsTheSecret(t *testing.T) {
	src, backend := memorySource(t, 200*time.Millisecond, nil)
	p := newProvider(t, src)
	creds, _, err := p.Subscribe(&recorder{})
	require.NoError(t, err)

	var out bytes.Buffer
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		got := fmt.Sprintf(verb, creds)
		assert.Equal(t, "[REDACTED]", got, verb)
		fmt.Fprintf(&out, verb+"\n", p)
		fmt.Fprintf(&out, verb+"\n", creds)
	}
	j, err := json.Marshal(map[string]any{"creds": creds})
	require.NoError(t, err)
	assert.JSONEq(t, `{"creds":"[REDACTED]"}`, string(j))

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	logger.Info("connecting", "creds", creds, "provider", p)
	// Golden log line.
	assert.Equal(t, `{"level":"INFO","msg":"connecting","creds":"[REDACTED]","provider":"redisauth.Provider(cache)"}`+"\n", logs.String())

	backend.SetAvailable(false)
	waitExpired(t, src, 5*time.Second)
	_, _, err = p.Subscribe(&recorder{})
	require.Error(t, err)
	out.WriteString(err.Error())
	out.WriteString(fmt.Sprintf("%+v", err))

	assert.False(t, strings.Contains(out.String()+logs.String(), canary), "a password was printed")
}

func assertCredentialsError(t *testing.T, err error, want error) {
	t.Helper()
	var credErr *redisauth.CredentialsError
	if assert.True(t, errors.As(err, &credErr), "not a *CredentialsError: %v", err) {
		assert.Equal(t, "cache", credErr.Source)
		assert.True(t, strings.HasPrefix(err.Error(), "redisauth: cache: no credentials"), err.Error())
	}
	assert.ErrorIs(t, err, want)
	assert.False(t, strings.Contains(fmt.Sprint(err), canary), "the error carries a password")
}

// captureT records what a testify assertion would print on failure.
type captureT struct{ out strings.Builder }

func (c *captureT) Errorf(format string, args ...any) { fmt.Fprintf(&c.out, format, args...) }

// testify's failure diff walks values by reflection with their methods
// disabled: comparing two credentials in a test must not print them.
func TestCredentialsAreNotReachableByReflectionPrinters(t *testing.T) {
	src, _ := memorySource(t, time.Minute, nil)
	p := newProvider(t, src)
	a, _, err := p.Subscribe(&recorder{})
	require.NoError(t, err)
	require.NoError(t, src.Rotate(context.Background()))
	b, _, err := p.Subscribe(&recorder{})
	require.NoError(t, err)
	var c captureT
	assert.Equal(&c, a, b)
	assert.NotEmpty(t, c.out.String(), "the assertion must fail")
	assert.False(t, strings.Contains(c.out.String(), canary), "testify's failure output of two credentials")
	u, pw := b.BasicAuth()
	assert.True(t, strings.HasPrefix(u, "app-") && strings.HasPrefix(pw, canary), "BasicAuth returns the values")
	assert.True(t, b.RawCredentials() == u+":"+pw, "RawCredentials is username:password")
}
