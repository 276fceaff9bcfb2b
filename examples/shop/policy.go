package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ztkit/ztkit/authz"
)

// defaultPolicy is policy.json: the rules of the storefront's, the checkout's,
// the payments service's and the admin console's routes. go:embed needs a
// package variable; nothing writes to it.
//
//go:embed policy.json
var defaultPolicy []byte

// pollInterval is how often the checkout's engine re-reads its policy file.
// Short, so that an edit takes effect at once in the demo; authz.Watch's
// default is 5s.
const pollInterval = 200 * time.Millisecond

// The SPIFFE IDs policy.json names for the workloads the shop runs. With
// identities from a SPIRE agent, the copy the checkout watches names the
// agent's IDs instead (forWorkloads).
const (
	policyStorefrontID = "spiffe://shop.example/storefront"
	policyCheckoutID   = "spiffe://shop.example/checkout"
)

// The scenario's edits of the embedded policy, each a change of one line,
// made as an operator would with an editor.
const (
	// shadowLine makes retire-storefront-order-reads a dry run; deleting it
	// enforces the rule.
	shadowLine = "      \"shadow\": true,\n"
	// paymentsACR and typoACR: the payments rule's min_acr, and a typo of it
	// that is not on the policy's ACR ladder.
	paymentsACR = `"min_acr": "mfa"`
	typoACR     = `"min_acr": "MFA"`
)

// policyFile is the checkout's authorization policy: the JSON file that
// authz.Watch polls, and the engine it feeds.
type policyFile = watchedFile[*authz.Engine]

// openPolicy watches the policy file at path or, when path is empty, a copy
// of the embedded policy for w's identities written to a new temporary
// directory. The engine logs its decisions and reloads to logger.
func openPolicy(ctx context.Context, path string, w *workloads, logger *slog.Logger) (*policyFile, error) {
	return openWatched(ctx, path, "policy.json", forWorkloads(defaultPolicy, w), func(ctx context.Context, path string) (*authz.Engine, error) {
		return authz.Watch(ctx, path, authz.WithPollInterval(pollInterval), authz.WithLogger(logger))
	})
}

// forWorkloads returns policy with the storefront's and the checkout's
// SPIFFE IDs replaced by w's, which differ when they come from a SPIRE agent.
// Only whole JSON strings are replaced.
func forWorkloads(policy []byte, w *workloads) []byte {
	out := bytes.ReplaceAll(policy, []byte(strconv.Quote(policyStorefrontID)), []byte(strconv.Quote(w.storefrontID.String())))
	return bytes.ReplaceAll(out, []byte(strconv.Quote(policyCheckoutID)), []byte(strconv.Quote(w.checkoutID.String())))
}

// replaceOnce replaces old in text with new, and fails unless old occurs
// exactly once.
func replaceOnce(text []byte, old, new string) ([]byte, error) {
	if n := bytes.Count(text, []byte(old)); n != 1 {
		return nil, fmt.Errorf("policy edit: %q occurs %d times, want 1", old, n)
	}
	return bytes.Replace(text, []byte(old), []byte(new), 1), nil
}
