package tokens

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	ijose "github.com/ztkit/ztkit/internal/jose"
	"github.com/ztkit/ztkit/internal/jsonscan"
)

// JWKSContentType is the media type of a JWK Set (RFC 7517 §8.5.1).
const JWKSContentType = "application/jwk-set+json"

// maxJWKSKeys bounds the keys read from one JWK Set.
const maxJWKSKeys = 100

// MarshalJWKS encodes keys as a JWK Set (RFC 7517 §5) with use "sig", each
// key's kid and, when set, its alg.
func MarshalJWKS(keys []*PublicKey) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.Key, KeyID: k.KeyID, Algorithm: k.Algorithm, Use: "sig"})
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return b, nil
}

// ParseJWKS reads a JWK Set. It keeps the signature keys ztkit can verify with
// and skips the rest, as RFC 7517 §5 asks: keys whose "use" is not "sig"
// (RFC 7517 §4.2) or whose "key_ops" is malformed or lacks "verify" (RFC 7517
// §4.3), so that an encryption key never verifies a token; unsupported types
// or curves; RSA keys under 2048 bits; and keys without a kid (which no token
// could select). It refuses the whole set, with an error matching
// [ErrInvalidKey], when the set is malformed, has more than 100 keys, names a
// kid twice, or publishes private key material: an issuer that leaks private
// keys cannot be trusted for any of them.
func ParseJWKS(data []byte) ([]*PublicKey, error) {
	var keysVal jsonscan.Value
	o := jsonscan.NewObject(data)
	for o.Next() {
		if string(o.Key()) == "keys" {
			keysVal = o.Value()
		}
	}
	if o.Err() != nil || keysVal.Kind != jsonscan.ArrayKind {
		return nil, fmt.Errorf("%w: not a JWK Set", ErrInvalidKey)
	}
	var (
		out  []*PublicKey
		seen = map[string]bool{}
		n    int
	)
	a := keysVal.Array()
	for a.Next() {
		if n++; n > maxJWKSKeys {
			return nil, fmt.Errorf("%w: JWK Set has more than %d keys", ErrInvalidKey, maxJWKSKeys)
		}
		k, err := ijose.ParseJWKValue(a.Value(), true)
		switch {
		case errors.Is(err, ijose.ErrPrivateJWK):
			return nil, fmt.Errorf("%w: JWK Set publishes private key material", ErrInvalidKey)
		case err != nil:
			continue // unsupported or malformed key: never selectable
		case k.Kid == "" || !forVerifying(a.Value()):
			continue
		}
		if k.Alg != "" {
			alg := ijose.AlgFromName(k.Alg)
			if alg == ijose.AlgNone || ijose.CheckKey(alg, k.Key) != nil {
				continue
			}
		}
		if seen[k.Kid] {
			return nil, fmt.Errorf("%w: JWK Set names a kid twice", ErrInvalidKey)
		}
		seen[k.Kid] = true
		out = append(out, &PublicKey{KeyID: k.Kid, Key: k.Key, Algorithm: k.Alg})
	}
	if a.Err() != nil {
		return nil, fmt.Errorf("%w: not a JWK Set", ErrInvalidKey)
	}
	return out, nil
}

// forVerifying reports whether the JWK v may verify signatures by its
// intended-use members: "use", when present, is exactly "sig" (RFC 7517
// §4.2), and "key_ops", when present, is an array of distinct strings that
// holds "verify" (RFC 7517 §4.3). A key for encryption, or whose members are
// malformed, never verifies a token.
func forVerifying(v jsonscan.Value) bool {
	o := v.Object()
	for o.Next() {
		switch string(o.Key()) {
		case "use":
			if !o.Value().Equal("sig") {
				return false
			}
		case "key_ops":
			if !opsAllowVerify(o.Value()) {
				return false
			}
		}
	}
	return o.Err() == nil
}

// maxKeyOps bounds the key_ops members read: RFC 7517 §4.3 defines eight.
const maxKeyOps = 16

// opsAllowVerify reports whether v is a key_ops array of at most maxKeyOps
// distinct strings, one of them "verify".
func opsAllowVerify(v jsonscan.Value) bool {
	var (
		ops    [maxKeyOps]string
		n      int
		verify bool
	)
	a := v.Array()
	for a.Next() {
		if n == maxKeyOps {
			return false
		}
		op, err := a.Value().Str()
		if err != nil || slices.Contains(ops[:n], op) {
			return false // not a string, or a duplicate, which §4.3 forbids
		}
		ops[n], n = op, n+1
		verify = verify || op == "verify"
	}
	return a.Err() == nil && verify
}

// JWKSHandlerOption configures [KeySet.JWKSHandler].
type JWKSHandlerOption interface{ applyJWKS(*jwksHandler) }

type jwksOptionFunc func(*jwksHandler)

func (f jwksOptionFunc) applyJWKS(h *jwksHandler) { f(h) }

// WithMaxAge sets the Cache-Control max-age of the JWK Set: how long verifiers
// may cache it. Keep it shorter than the time between [KeySet.SetNext] and
// [KeySet.Rotate]. The default is five minutes; zero or less keeps it.
func WithMaxAge(d time.Duration) JWKSHandlerOption {
	return jwksOptionFunc(func(h *jwksHandler) {
		if d > 0 {
			h.maxAge = d
		}
	})
}

// JWKSHandler returns an http.Handler that serves the set's verifying keys as a
// JWK Set, with Cache-Control, an ETag and conditional GET (304). It answers
// GET and HEAD only.
func (ks *KeySet) JWKSHandler(opts ...JWKSHandlerOption) http.Handler {
	h := &jwksHandler{ks: ks, maxAge: 5 * time.Minute}
	for _, o := range opts {
		o.applyJWKS(h)
	}
	return h
}

type jwksHandler struct {
	ks     *KeySet
	maxAge time.Duration

	mu   sync.Mutex
	kids string
	body []byte
	etag string
}

func (h *jwksHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, etag, err := h.current()
	if err != nil {
		http.Error(w, "key set unavailable", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(h.maxAge/time.Second)))
	hd.Set("ETag", etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	if etagMatches(r.Header.Values("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", JWKSContentType)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

// current returns the encoded set, re-encoding only when the keys changed.
func (h *jwksHandler) current() ([]byte, string, error) {
	keys := h.ks.PublicKeys()
	var kids []byte
	for _, k := range keys {
		kids = append(kids, k.KeyID...)
		kids = append(kids, ' ')
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.body != nil && h.kids == string(kids) {
		return h.body, h.etag, nil
	}
	body, err := MarshalJWKS(keys)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(body)
	h.kids, h.body, h.etag = string(kids), body, `"`+ijose.Encode(sum[:16])+`"`
	return h.body, h.etag, nil
}

// etagMatches implements the weak comparison of If-None-Match (RFC 9110 §13.1.2):
// "*", or a list of entity tags any of which equals etag, W/ prefix ignored.
func etagMatches(values []string, etag string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || t == etag {
				return true
			}
		}
	}
	return false
}
