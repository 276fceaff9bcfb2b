package rediscounter_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ztkit/ztkit/risk"
	"github.com/ztkit/ztkit/risk/rediscounter"
)

// The counter never reports a count it could not make: here nothing listens
// at the Redis address, and Count fails with risk.ErrCounterUnavailable, so
// that the engine applies the action's on_counter_error outcome.
func Example() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true}) // nothing listens here
	defer func() { _ = client.Close() }()

	ctr, err := rediscounter.New(client,
		rediscounter.WithKeyPrefix("shop:risk:"),
		rediscounter.WithHashKey([]byte("a per-deployment secret of 32 bytes")),
		rediscounter.WithTimeout(100*time.Millisecond),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	windows := []risk.Window{
		{Event: "payment_failed", Key: risk.KeyCard, Value: "card-fingerprint", Length: 10 * time.Minute, Add: 1},
	}
	err = ctr.Count(context.Background(), time.Now(), windows)
	fmt.Println(errors.Is(err, risk.ErrCounterUnavailable), windows[0].Count)
	// Output:
	// true 0
}
