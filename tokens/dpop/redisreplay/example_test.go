package redisreplay_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/dpop/redisreplay"
)

// The store works with any go-redis client and never accepts a proof it could
// not check: here nothing listens at the Redis address, and the proof is refused.
func Example() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // nothing listens here
	defer func() { _ = client.Close() }()

	store, err := redisreplay.New(client,
		redisreplay.WithKeyPrefix("api:dpop:jti:"),
		redisreplay.WithTimeout(100*time.Millisecond),
	)
	if err != nil {
		fmt.Println(err)
		return
	}

	// The thumbprint of the proof key (RFC 9449 §6.1), the proof's jti (§4.2), and
	// the proof's iat plus the window the server accepts proofs in.
	jkt, jti := "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "-BwC3ESc6acc2lTc"
	expiry := time.Now().Add(5 * time.Minute)

	err = store.CheckAndStore(context.Background(), jkt, jti, expiry)
	switch {
	case err == nil:
		fmt.Println("accepted")
	case errors.Is(err, dpop.ErrReplayed):
		fmt.Println("refused: replayed")
	case errors.Is(err, dpop.ErrReplayCheckUnavailable):
		fmt.Println("refused: replay check unavailable")
	}
	// Output:
	// refused: replay check unavailable
}
