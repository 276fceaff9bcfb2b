package httpsig_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/httpsig/digest"
)

// A partner signs its requests with an Ed25519 key; the shop verifies them,
// body included, and refuses a request whose body was changed on the way.
func Example() {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}

	// The partner's side.
	key, err := httpsig.NewSigningKey("partner-2026", httpsig.AlgEd25519, priv)
	if err != nil {
		panic(err)
	}
	signer, err := httpsig.NewSigner(key, httpsig.WithRandomNonce())
	if err != nil {
		panic(err)
	}
	body := `{"order":"o-1","status":"shipped"}`
	req := httptest.NewRequest(http.MethodPost, "https://shop.example/v1/orders/o-1/events", strings.NewReader(body))
	cd, err := digest.Value([]byte(body)) // covered by the signature: the body is signed too
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Digest", cd)
	if err := signer.SignRequest(req); err != nil {
		panic(err)
	}
	fmt.Println(strings.SplitN(req.Header.Get("Signature-Input"), ";", 2)[0])

	// The shop's side: the partner's public key, a signature that must cover
	// the request line and the body, with a nonce (each accepted once).
	vk, err := httpsig.NewVerifyingKey("partner-2026", httpsig.AlgEd25519, pub)
	if err != nil {
		panic(err)
	}
	keys, err := httpsig.NewStaticKeys(vk)
	if err != nil {
		panic(err)
	}
	verifier, err := httpsig.NewVerifier(keys,
		httpsig.WithRequiredComponents(httpsig.Derived("@method"), httpsig.Derived("@authority"),
			httpsig.Derived("@path"), httpsig.Derived("@query"), httpsig.Field("content-digest")),
		httpsig.WithRequiredParams("nonce"))
	if err != nil {
		panic(err)
	}
	got, err := verifier.VerifyRequest(context.Background(), req)
	fmt.Println(err, got.KeyID, got.DigestChecked)

	// The same signature again: a replay.
	_, err = verifier.VerifyRequest(context.Background(), req)
	fmt.Println(errors.Is(err, httpsig.ErrReplayed))
	// Output:
	// sig1=("@method" "@authority" "@path" "@query" "content-digest")
	// <nil> partner-2026 true
	// true
}
