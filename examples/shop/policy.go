package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
type policyFile struct {
	engine *authz.Engine
	path   string
	// text is what the shop wrote to path: the embedded policy for these
	// workloads. It is nil for a file named with -policy, which the scenario
	// never writes to.
	text []byte
	// dir is the temporary directory that holds path, removed by Close; ""
	// for a file named with -policy.
	dir string
}

// openPolicy watches the policy file at path or, when path is empty, a copy
// of the embedded policy for w's identities written to a new temporary
// directory. The engine logs its decisions and reloads to logger.
func openPolicy(ctx context.Context, path string, w *workloads, logger *slog.Logger) (_ *policyFile, err error) {
	opts := []authz.Option{authz.WithPollInterval(pollInterval), authz.WithLogger(logger)}
	if path != "" {
		e, err := authz.Watch(ctx, path, opts...)
		if err != nil {
			return nil, err
		}
		return &policyFile{engine: e, path: path}, nil
	}
	dir, err := os.MkdirTemp("", "shop-policy-")
	if err != nil {
		return nil, err
	}
	pf := &policyFile{path: filepath.Join(dir, "policy.json"), dir: dir, text: forWorkloads(defaultPolicy, w)}
	defer func() {
		if err != nil {
			err = errors.Join(err, pf.Close())
		}
	}()
	if err := pf.write(pf.text); err != nil {
		return nil, err
	}
	if pf.engine, err = authz.Watch(ctx, pf.path, opts...); err != nil {
		return nil, err
	}
	return pf, nil
}

// forWorkloads returns policy with the storefront's and the checkout's
// SPIFFE IDs replaced by w's, which differ when they come from a SPIRE agent.
// Only whole JSON strings are replaced.
func forWorkloads(policy []byte, w *workloads) []byte {
	out := bytes.ReplaceAll(policy, []byte(strconv.Quote(policyStorefrontID)), []byte(strconv.Quote(w.storefrontID.String())))
	return bytes.ReplaceAll(out, []byte(strconv.Quote(policyCheckoutID)), []byte(strconv.Quote(w.checkoutID.String())))
}

// write replaces the policy file atomically (writeFile).
func (pf *policyFile) write(text []byte) error { return writeFile(pf.path, text) }

// writeFile replaces the file at path atomically: a new file renamed over
// the old, so a watching engine never reads half of one.
func writeFile(path string, text []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".edit-*.json")
	if err != nil {
		return err
	}
	_, err = f.Write(text)
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
}

// swap writes text and waits for the engine to load it.
func (pf *policyFile) swap(ctx context.Context, text []byte) error {
	// Take the channel before writing: a swap between the write and a call
	// to WaitUntilUpdated would be missed.
	updated := pf.engine.Updated()
	if err := pf.write(text); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case <-updated:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("the policy engine did not load the new policy: %w (last error: %v)", ctx.Err(), pf.engine.LastError())
	}
}

// Close stops watching and removes the temporary copy, if any.
func (pf *policyFile) Close() error {
	var err error
	if pf.engine != nil {
		err = pf.engine.Close()
	}
	if pf.dir != "" {
		err = errors.Join(err, os.RemoveAll(pf.dir))
	}
	return err
}

// replaceOnce replaces old in text with new, and fails unless old occurs
// exactly once.
func replaceOnce(text []byte, old, new string) ([]byte, error) {
	if n := bytes.Count(text, []byte(old)); n != 1 {
		return nil, fmt.Errorf("policy edit: %q occurs %d times, want 1", old, n)
	}
	return bytes.Replace(text, []byte(old), []byte(new), 1), nil
}
