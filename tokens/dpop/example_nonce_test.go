package dpop_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/ztkit/ztkit/tokens/dpop"
)

// A resource server that requires DPoP nonces (RFC 9449 §9) runs several
// replicas; each builds its Nonces from the same secret, so a nonce from one is
// accepted by all. When a proof's nonce is missing or stale, the server answers
// 401 with error "use_dpop_nonce" and the nonce to retry with.
func ExampleNonces() {
	// In production: at least 32 random bytes from your secret store, the same on
	// every replica, and no WithNonceClock.
	secret := []byte("example-only secret, 32+ bytes, shared by all replicas")
	clock := func() time.Time { return time.Date(2025, 6, 1, 12, 0, 30, 0, time.UTC) }

	replicaA, err := dpop.NewNonces(secret, dpop.WithNonceClock(clock))
	if err != nil {
		fmt.Println(err)
		return
	}
	replicaB, err := dpop.NewNonces(secret, dpop.WithNonceClock(clock))
	if err != nil {
		fmt.Println(err)
		return
	}

	// checkNonce is what a handler does with the nonce claim of a verified proof.
	checkNonce := func(nonces *dpop.Nonces, proofNonce string) *http.Response {
		w := httptest.NewRecorder()
		if err := nonces.Check(proofNonce); err != nil {
			var nerr *dpop.NonceError
			if errors.As(err, &nerr) {
				w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`)
				w.Header().Set("DPoP-Nonce", nerr.Nonce)
			}
			w.WriteHeader(http.StatusUnauthorized)
			return w.Result()
		}
		w.WriteHeader(http.StatusOK)
		return w.Result()
	}

	// The client's first proof has no nonce: replica A hands one out.
	res := checkNonce(replicaA, "")
	nonce := res.Header.Get("DPoP-Nonce")
	fmt.Println(res.StatusCode, nonce)

	// The retry carries it and lands on replica B.
	res = checkNonce(replicaB, nonce)
	fmt.Println(res.StatusCode)

	// Nonces holds key material and never prints it.
	fmt.Println(replicaA)
	// Output:
	// 401 AQAAAAABvLzQ1s5Ns-GGjstfZmBYt_vUpw
	// 200
	// [REDACTED]
}

// Rotating the shared secret without refusing the nonces clients hold: replicas
// issue with the new secret and keep verifying with the old one until the accepted
// window (one to two rotation periods by default) has passed.
func ExampleWithPreviousNonceSecrets() {
	oldSecret := []byte("example-only old secret, 32+ bytes long")
	newSecret := []byte("example-only new secret, 32+ bytes long")
	clock := func() time.Time { return time.Date(2025, 6, 1, 12, 0, 30, 0, time.UTC) }

	before, err := dpop.NewNonces(oldSecret, dpop.WithNonceClock(clock))
	if err != nil {
		fmt.Println(err)
		return
	}
	clientNonce := before.Current()

	after, err := dpop.NewNonces(newSecret,
		dpop.WithPreviousNonceSecrets(oldSecret),
		dpop.WithNonceClock(clock))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("old nonce accepted:", after.Check(clientNonce) == nil)
	fmt.Println("issues with the new secret:", after.Current() != clientNonce)

	_, err = dpop.NewNonces([]byte("too short"))
	fmt.Println(errors.Is(err, dpop.ErrInvalidConfig))
	// Output:
	// old nonce accepted: true
	// issues with the new secret: true
	// true
}
