package redisauth_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/auth"

	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/secrets/redisauth"
)

// printer is a stand-in for the listener go-redis subscribes for each
// connection it opens: it shows what the connection is told.
type printer struct{}

func (printer) OnNext(c auth.Credentials) {
	user, _ := c.BasicAuth()
	fmt.Println("re-authenticate as", user, "with", c)
}

func (printer) OnError(err error) { fmt.Println("error:", err) }

// A go-redis client authenticated with a leased credential: each rotation
// re-authenticates the client's open connections; an expired credential
// refuses new connections.
func Example() {
	ctx := context.Background()
	// An in-memory backend stands in for Vault's database engine
	// (vault.Client.Lease("database/creds/cache", nil)).
	n := 0
	backend, err := secrets.NewMemory(func() (map[string]string, error) {
		n++
		return map[string]string{"username": fmt.Sprintf("cache-%d", n), "password": "s3cr3t"}, nil
	}, time.Hour, 24*time.Hour)
	if err != nil {
		fmt.Println(err)
		return
	}
	src, err := secrets.NewSource(ctx, "cache", backend)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()

	creds, err := redisauth.New(src)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer creds.Close()
	client := redis.NewClient(&redis.Options{
		Addr:                         "localhost:6379",
		StreamingCredentialsProvider: creds,
	})
	defer client.Close()

	// What go-redis does for each connection it opens.
	cur, unsubscribe, err := creds.Subscribe(printer{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer unsubscribe()
	user, _ := cur.BasicAuth()
	fmt.Println("authenticate as", user, "with", cur)

	// A rotation: the connection re-authenticates.
	if err := src.Rotate(ctx); err != nil {
		fmt.Println(err)
		return
	}

	// A closed (or expired) source: new connections are refused.
	src.Close()
	_, _, err = creds.Subscribe(printer{})
	var credErr *redisauth.CredentialsError
	fmt.Println(errors.As(err, &credErr), errors.Is(err, secrets.ErrClosed))
	fmt.Println(err)
	// Output:
	// authenticate as cache-1 with [REDACTED]
	// re-authenticate as cache-2 with [REDACTED]
	// true true
	// redisauth: cache: no credentials: secrets: source closed
}
