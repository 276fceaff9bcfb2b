package dpop_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ztkit/ztkit/tokens/dpop"
)

// A resource server records each accepted proof's (jkt, jti) until the proof
// would expire anyway, and refuses the same proof when it comes back.
func ExampleMemoryReplayStore() {
	// Size the bound to the peak rate of accepted proofs times the acceptance window.
	store, err := dpop.NewMemoryReplayStore(dpop.WithMaxEntries(10_000))
	if err != nil {
		fmt.Println(err)
		return
	}

	ctx := context.Background()
	// The thumbprint of the proof key (RFC 9449 §6.1) and the proof's jti (§4.2).
	jkt, jti := "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "-BwC3ESc6acc2lTc"
	// The proof's iat plus the window the server accepts proofs in.
	expiry := time.Now().Add(5 * time.Minute)

	for range 2 {
		err := store.CheckAndStore(ctx, jkt, jti, expiry)
		switch {
		case err == nil:
			fmt.Println("accepted")
		case errors.Is(err, dpop.ErrReplayed):
			fmt.Println("refused: replayed")
		default: // dpop.ErrReplayCheckUnavailable: refuse too, never accept unchecked
			fmt.Println("refused:", err)
		}
	}
	fmt.Println("entries:", store.Len(), "evictions:", store.Evictions())
	// Output:
	// accepted
	// refused: replayed
	// entries: 1 evictions: 0
}
