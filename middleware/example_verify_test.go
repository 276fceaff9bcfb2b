package middleware_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/middleware"
	"github.com/ztkit/ztkit/webhook"
)

// Receive a payment provider's Standard Webhooks: a delivery is handled
// once; the same delivery again is refused as a replay, and a changed body
// as a forgery.
func ExampleVerifyWebhooks() {
	secret := webhook.GenerateSecret().Reveal() // in production, from a secrets.Source (webhook.WithSource)
	v, err := webhook.NewStandard(webhook.WithSecrets(secret))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()
	// A service that receives only webhooks (no mTLS, no token) needs no
	// authenticator: a recorder guard records and logs the refusals with
	// the same metrics and log as every refusal (guard.WithLogger,
	// guard.WithMeterProvider). A service with other routes passes its own
	// guard (guard.New) instead.
	g, err := guard.NewRecorder()
	if err != nil {
		fmt.Println(err)
		return
	}
	hooks, err := middleware.VerifyWebhooks(g, v)
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/psp", hooks(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msg, _ := webhook.FromContext(r.Context())
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("handled %s: %s\n", msg.ID(), body)
	})))
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()

	// The provider's side.
	signer, err := webhook.NewStandardSigner(secret)
	if err != nil {
		fmt.Println(err)
		return
	}
	deliver := func(id, body, sent string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/psp", strings.NewReader(sent))
		if err := signer.Sign(req.Header, id, time.Now(), []byte(body)); err != nil {
			fmt.Println(err)
			return
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	event := `{"type":"payment.succeeded"}`
	deliver("msg_1", event, event)
	deliver("msg_1", event, event)
	deliver("msg_2", event, `{"type":"payment.refunded"}`)
	// Output:
	// handled msg_1: {"type":"payment.succeeded"}
	// 200
	// 401
	// 401
}
