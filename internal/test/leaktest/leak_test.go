// Package leaktest checks that ztkit's secret-holding types print no secret
// through fmt, log/slog, encoding/json, encoding/xml or encoding/gob, alone,
// behind a pointer, in a struct, a slice or a map.
package leaktest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/httpsig"
	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/tokens"
	"github.com/ztkit/ztkit/tokens/dpop"
	"github.com/ztkit/ztkit/tokens/grant"
	"github.com/ztkit/ztkit/tokens/sts"
	"github.com/ztkit/ztkit/webhook"
)

// marker is the secret every case holds; 32 printable bytes.
const marker = "LEAKMARKER-s3cr3t-0123456789abcd"

// verbs are the fmt verbs a log line or an error message may use.
var verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"}

// needles returns the forms in which b may show up in a rendering: as text,
// hex, base64 and the decimal bytes fmt prints for a []byte.
func needles(b []byte) []string {
	n := []string{
		hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
		base64.StdEncoding.EncodeToString(b)[:16], base64.RawURLEncoding.EncodeToString(b)[:16],
		strings.Trim(fmt.Sprint(b[:8]), "[]"),
	}
	if s := string(b); isPrint(s) {
		n = append(n, s)
	}
	return n
}

func isPrint(s string) bool {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}

// renderings returns every rendering of v by fmt, slog, json, xml and gob.
// Encoders may refuse a value; what they write before refusing counts.
func renderings(v any) map[string]string {
	out := map[string]string{}
	for _, verb := range verbs {
		out["fmt "+verb] = fmt.Sprintf(verb, v)
	}
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info("m", "v", v)
	out["slog json"] = b.String()
	b.Reset()
	slog.New(slog.NewTextHandler(&b, nil)).Info("m", "v", v)
	out["slog text"] = b.String()
	j, _ := json.Marshal(v)
	out["json"] = string(j)
	x, _ := xml.Marshal(v)
	out["xml"] = string(x)
	b.Reset()
	_ = gob.NewEncoder(&b).Encode(v)
	out["gob"] = b.String()
	return out
}

// holder is a struct of the caller's that holds a secret-holding value in an
// exported field, whose methods fmt calls.
type holder struct {
	Name  string
	Value any
}

// private holds it in an unexported field: fmt calls no method of the value
// there, and a verb that does not fit a pointer (%s, %q) follows the pointer.
type private struct {
	name  string
	value any
}

// knownLeak is a case that still shows its secret in some wrappers (nil:
// all of them), and the owner's fix (reported by the rev-leaks review).
type knownLeak struct {
	wrappers []string
	fix      string
}

// unexportedPaths are the wrappers where fmt calls no method of the value
// and %s or %q print the struct a pointer points to.
var unexportedPaths = []string{"unexported", "*unexported"}

// twoPointers is the fix of every unexportedPaths leak: keep the key material
// two pointers down, as redact.Secret does, so that fmt prints an address.
// knownLeaks are the cases that still show their secret. Remove an entry
// once its fix lands: the case then runs in full.
var knownLeaks = map[string]knownLeak{
	"grant.Token": {unexportedPaths, "tokens/grant/token.go: AccessToken is an exported string field (as in x/oauth2.Token), " +
		"which fmt prints in a caller's unexported field; a redact.Secret[string] would change the API"},
	"*grant.Token": {unexportedPaths, "tokens/grant/token.go: as grant.Token"},
	"dpop.ProofRequest": {unexportedPaths, "tokens/dpop/proofer.go: ProofRequest.AccessToken is an exported string field, " +
		"which fmt prints in a caller's unexported field: make it a redact.Secret[string] (an API change)"},
	"dpop.Request": {unexportedPaths, "tokens/dpop/verifier.go: as dpop.ProofRequest"},
}

type leakCase struct {
	name    string
	value   any
	needles []string
}

func TestNoSecretInAnyRendering(t *testing.T) {
	ctx := context.Background()
	secret := []byte(marker)

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecD, err := ec.Bytes() // the private scalar, big-endian
	require.NoError(t, err)
	d := new(big.Int).SetBytes(ecD)
	ecNeedles := append(needles(ecD), d.String(), d.Text(16))
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	edNeedles := needles(ed.Seed())

	var cases []leakCase
	add := func(name string, v any, n []string) { cases = append(cases, leakCase{name, v, n}) }

	// redact
	add("redact.Secret[string]", redact.NewSecret(marker), needles(secret))
	add("redact.Secret[[]byte]", redact.NewSecret(secret), needles(secret))

	// secrets
	sec := secrets.NewSecret(map[string]string{"password": marker}, secrets.Lease{ID: "lease"})
	add("*secrets.Secret", sec, needles(secret))
	add("secrets.Secret", *sec, needles(secret))
	mem, err := secrets.NewMemory(func() (map[string]string, error) {
		return map[string]string{"password": marker}, nil
	}, time.Hour, time.Hour)
	require.NoError(t, err)
	src, err := secrets.NewSource(ctx, "leaktest", mem)
	require.NoError(t, err)
	t.Cleanup(func() { _ = src.Close() })
	add("*secrets.Source", src, needles(secret))

	// tokens
	tk, err := tokens.NewSigningKey(ec, "")
	require.NoError(t, err)
	add("*tokens.SigningKey", tk, ecNeedles)
	tks, err := tokens.NewKeySet(tk)
	require.NoError(t, err)
	add("*tokens.KeySet", tks, ecNeedles)
	tkEd, err := tokens.NewSigningKey(ed, "")
	require.NoError(t, err)
	add("*tokens.SigningKey ed25519", tkEd, edNeedles)

	// httpsig
	hk, err := httpsig.NewHMACSigningKey("kid", secret)
	require.NoError(t, err)
	add("*httpsig.SigningKey hmac", hk, needles(secret))
	add("httpsig.SigningKey hmac (copy)", *hk, needles(secret))
	hs, err := httpsig.NewSigner(hk)
	require.NoError(t, err)
	add("*httpsig.Signer hmac", hs, needles(secret))
	ht, err := httpsig.NewTransport(nil, hs)
	require.NoError(t, err)
	add("*httpsig.Transport hmac", ht, needles(secret))
	hv, err := httpsig.NewHMACVerifyingKey("kid", secret)
	require.NoError(t, err)
	add("*httpsig.VerifyingKey hmac", hv, needles(secret))
	sk, err := httpsig.NewStaticKeys(hv)
	require.NoError(t, err)
	add("*httpsig.StaticKeys", sk, needles(secret))
	hed, err := httpsig.NewSigningKey("kid", httpsig.AlgEd25519, ed)
	require.NoError(t, err)
	add("*httpsig.SigningKey ed25519", hed, edNeedles)
	hsrc, err := httpsig.NewHMACSourceSigningKey("kid", src, "password")
	require.NoError(t, err)
	add("*httpsig.SigningKey source", hsrc, needles(secret))
	add("*httpsig.HMACSourceKeys", httpsig.NewHMACSourceKeys(), needles(secret))

	// webhook
	whsec := webhook.PrefixSecret + base64.StdEncoding.EncodeToString(secret)
	ws, err := webhook.NewStandardSigner(whsec)
	require.NoError(t, err)
	add("*webhook.Signer standard", ws, needles(secret))
	_, whsk := webhook.GenerateKeyPair()
	wskRaw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(whsk.Reveal(), webhook.PrefixPrivateKey))
	require.NoError(t, err)
	wse, err := webhook.NewStandardSigner(whsk.Reveal())
	require.NoError(t, err)
	add("*webhook.Signer v1a", wse, append(needles(wskRaw[:32]), whsk.Reveal()))
	add("webhook.GenerateKeyPair private", whsk, []string{whsk.Reveal()})
	wgs := webhook.GenerateSecret()
	add("webhook.GenerateSecret", wgs, []string{wgs.Reveal()})
	stripe := "whsec_" + marker
	wst, err := webhook.NewStripeSigner(stripe)
	require.NoError(t, err)
	add("*webhook.Signer stripe", wst, needles(secret))
	wv, err := webhook.NewStandard(webhook.WithSecrets(whsec))
	require.NoError(t, err)
	add("*webhook.Verifier standard", wv, needles(secret))
	wvs, err := webhook.NewStripe(webhook.WithSecrets(stripe))
	require.NoError(t, err)
	add("*webhook.Verifier stripe", wvs, needles(secret))

	// tokens/grant
	add("grant.Token", grant.Token{AccessToken: marker, TokenType: "Bearer"}, needles(secret))
	add("*grant.Token", &grant.Token{AccessToken: marker, TokenType: "Bearer"}, needles(secret))
	add("grant.StaticSecret", grant.StaticSecret{Secret: sec}, needles(secret))
	csb := grant.ClientSecretBasic(grant.StaticSecret{Secret: sec}, "password")
	add("grant.ClientSecretBasic", csb, needles(secret))
	pkj, err := grant.PrivateKeyJWT(ec, "ES256")
	require.NoError(t, err)
	add("grant.PrivateKeyJWT", pkj, ecNeedles)
	pkjEd, err := grant.PrivateKeyJWT(ed, "EdDSA")
	require.NoError(t, err)
	add("grant.PrivateKeyJWT ed25519", pkjEd, edNeedles)
	cc, err := grant.NewClientCredentials("https://as.example/token", "client", csb)
	require.NoError(t, err)
	add("*grant.ClientCredentials", cc, needles(secret))

	// tokens/dpop
	pr, err := dpop.NewProofer(ec, "ES256")
	require.NoError(t, err)
	add("*dpop.Proofer", pr, ecNeedles)
	prEd, err := dpop.NewProofer(ed, "EdDSA")
	require.NoError(t, err)
	add("*dpop.Proofer ed25519", prEd, edNeedles)
	nonces, err := dpop.NewNonces(secret)
	require.NoError(t, err)
	add("*dpop.Nonces", nonces, needles(secret))

	add("dpop.ProofRequest", dpop.ProofRequest{Method: "GET", URL: "https://api.example/", AccessToken: marker}, needles(secret))
	add("dpop.Request", dpop.Request{Method: "GET", URL: "https://api.example/", AccessToken: marker}, needles(secret))
	add("grant.StepUpRequest", grant.StepUpRequest{ACRValues: []string{"mfa"}, OTP: redact.NewSecret(marker)}, needles(secret))

	// tokens/sts
	add("sts.Factor", sts.Factor{Method: "otp", Code: redact.NewSecret(marker)}, needles(secret))

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			known, isKnown := knownLeaks[c.name]
			if isKnown && known.wrappers == nil {
				t.Skip("known leak, fix: " + known.fix)
			}
			wrapped := map[string]any{
				"value":            c.value,
				"in struct":        holder{Name: c.name, Value: c.value},
				"in *struct":       &holder{Name: c.name, Value: c.value},
				"unexported":       private{name: c.name, value: c.value},
				"*unexported":      &private{name: c.name, value: c.value},
				"in slice":         []any{c.value},
				"in map":           map[string]any{"k": c.value},
				"in error %v":      fmt.Errorf("op: %v", c.value),
				"in error %+v":     fmt.Errorf("op: %+v", c.value),
				"in panic message": fmt.Sprint(recoverOf(func() { panic(c.value) })),
			}
			for wname, w := range wrapped {
				if isKnown && slices.Contains(known.wrappers, wname) {
					t.Logf("known leak %s, fix: %s", wname, known.fix)
					continue
				}
				for rname, out := range renderings(w) {
					for _, n := range c.needles {
						// Never print the rendering: it may hold the secret.
						assert.False(t, strings.Contains(out, n), "%s %s: %s shows the secret", c.name, wname, rname)
					}
				}
			}
		})
	}
}

func recoverOf(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return nil
}
