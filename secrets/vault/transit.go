package vault

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/ztkit/ztkit/secrets"
	"github.com/ztkit/ztkit/tokens"
)

// DefaultSignTimeout bounds one signature made through
// [TransitSigner.Sign], which has no context of its own.
const DefaultSignTimeout = 10 * time.Second

// ErrTransitSignature: Transit answered with a signature or a key that is
// not what was asked for: a signature that is malformed, made with another
// key version than the signer's, or does not verify with the signer's public
// key; a public key that does not parse or is not of the key's type. The
// signer returns no signature rather than a wrong one.
var ErrTransitSignature = errors.New("vault: transit returned an unexpected signature")

// TransitSignerOption configures a [TransitSigner].
type TransitSignerOption interface{ applySigner(*signerConfig) }

type signerConfig struct {
	timeout time.Duration
}

func newSignerConfig(opts []TransitSignerOption) signerConfig {
	c := signerConfig{timeout: DefaultSignTimeout}
	for _, o := range opts {
		if o != nil {
			o.applySigner(&c)
		}
	}
	return c
}

// SignTimeoutOption is the option [WithSignTimeout] returns; it configures
// a [TransitSigner] and the signers of a [TransitKeys].
type SignTimeoutOption struct{ d time.Duration }

// WithSignTimeout bounds each signature made through [TransitSigner.Sign]
// (a crypto.Signer has no context): the Transit request, and a fresh login
// when Vault answers 403, are cut off after d and the signature fails with
// [secrets.ErrUnavailable]. The default is [DefaultSignTimeout]; zero or
// less keeps it. [TransitSigner.SignContext] is bounded by its context
// instead.
func WithSignTimeout(d time.Duration) SignTimeoutOption { return SignTimeoutOption{d: d} }

func (o SignTimeoutOption) applySigner(c *signerConfig) {
	if o.d > 0 {
		c.timeout = o.d
	}
}

func (o SignTimeoutOption) applyKeys(c *keysConfig) { o.applySigner(&c.signer) }

// TransitSigner is a crypto.Signer whose private key stays in Vault Transit:
// each signature is a request to <mount>/sign/<name>, made with the
// [Client]'s token. It signs with one version of the Transit key, pinned
// when it is made, so that its signatures always match its Public key, also
// after the Transit key is rotated; [TransitKeys] follows rotations.
//
// It supports the Transit key types ecdsa-p256 and ecdsa-p384 (the digest
// is signed as given: prehashed, with the hash of the signer options, and
// the signature is ASN.1 DER as crypto/ecdsa makes it), ed25519 (the message
// itself, with crypto.Hash(0) as the options, as crypto/ed25519 takes it)
// and rsa-2048, rsa-3072 and rsa-4096 (RSASSA-PSS when the options are
// *rsa.PSSOptions, with their salt length, PKCS #1 v1.5 otherwise). Every
// signature Transit returns is checked against the public key before it is
// returned.
//
// [tokens.NewSigningKey] accepts a TransitSigner. A TransitSigner is safe
// for concurrent use; it holds no secret.
type TransitSigner struct {
	c        *Client
	mount    string
	name     string
	key      string // mount/keys/name, for messages
	signPath string
	keyType  string
	version  int
	pub      crypto.PublicKey
	timeout  time.Duration
}

// TransitSigner returns a signer backed by the Transit key keyName of the
// engine mounted at mount ("transit" when empty), at version (0: the latest
// version when TransitSigner is called, pinned from then on). It reads the
// key's public key from <mount>/keys/<name>, with the Client's token, which
// needs read on that path and update on <mount>/sign/<name>.
//
// It fails with an error matching [secrets.ErrRefused] when the key or the
// version does not exist or may not be read, [secrets.ErrUnavailable] when
// Vault cannot be reached, and [secrets.ErrInvalidConfig] when the key is
// of a type it does not sign with (a derived ed25519 key among them: it
// needs a context per signature).
func (c *Client) TransitSigner(ctx context.Context, mount, keyName string, version int, opts ...TransitSignerOption) (*TransitSigner, error) {
	info, err := c.readTransitKey(ctx, mount, keyName)
	if err != nil {
		return nil, err
	}
	if version == 0 {
		version = info.latest
	}
	return c.newTransitSigner(info, version, newSignerConfig(opts))
}

func (c *Client) newTransitSigner(info *transitKey, version int, cfg signerConfig) (*TransitSigner, error) {
	raw, ok := info.versions[version]
	if !ok {
		return nil, fmt.Errorf("vault: transit key %s: %w: no version %d", info.path, secrets.ErrRefused, version)
	}
	pub, err := parseTransitPublicKey(info.keyType, raw.publicKey)
	if err != nil {
		return nil, fmt.Errorf("vault: transit key %s version %d: %w", info.path, version, err)
	}
	return &TransitSigner{
		c: c, mount: info.mount, name: info.name, key: info.path, signPath: info.mount + "/sign/" + info.name,
		keyType: info.keyType, version: version, pub: pub, timeout: cfg.timeout,
	}, nil
}

// Public returns the public key of the signer's version of the Transit key:
// *ecdsa.PublicKey, ed25519.PublicKey or *rsa.PublicKey.
func (s *TransitSigner) Public() crypto.PublicKey { return s.pub }

// Version returns the version of the Transit key the signer signs with.
func (s *TransitSigner) Version() int { return s.version }

// KeyType returns the Transit key type ("ecdsa-p256", "ed25519", "rsa-2048", ...).
func (s *TransitSigner) KeyType() string { return s.keyType }

// Sign implements crypto.Signer: it signs digest (the message itself for
// ed25519) in Transit, within the signer's timeout ([WithSignTimeout]).
// rand is not used: Transit draws its own randomness.
func (s *TransitSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	return s.SignContext(ctx, digest, opts)
}

// SignContext is [TransitSigner.Sign] bounded by ctx instead of the
// signer's timeout.
//
// It fails with an error matching [secrets.ErrInvalidConfig] for options
// the key cannot sign with (a hash Transit does not offer, a digest of the
// wrong length, Ed25519ph), [secrets.ErrRefused] when Vault refuses (the
// key or its version was deleted or trimmed, its min_encryption_version
// passed the signer's version, the token may not sign),
// [secrets.ErrUnavailable] when Vault cannot be reached in time, and
// [ErrTransitSignature] when the answer is not a valid signature by the
// signer's version.
func (s *TransitSigner) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	req, err := s.request(digest, opts)
	if err != nil {
		return nil, err
	}
	what := "sign with " + s.key
	status := 0
	sec, err := s.c.do(ctx, what, func(a *api.Client) (*api.Secret, error) {
		sec, err := a.Logical().WriteWithContext(ctx, s.signPath, req)
		status = statusCode(err)
		return sec, err
	})
	if err != nil {
		if status == http.StatusInternalServerError {
			// Transit answers 500 when the version may no longer sign
			// (under min_encryption_version, trimmed): ask it which.
			return nil, s.diagnose(ctx, err)
		}
		return nil, err
	}
	if sec == nil {
		return nil, fmt.Errorf("vault: %s: %w: empty answer", what, ErrTransitSignature)
	}
	if v, ok := sec.Data["key_version"].(json.Number); ok && v.String() != strconv.Itoa(s.version) {
		return nil, fmt.Errorf("vault: %s: %w: signed with version %s, not %d", what, ErrTransitSignature, v, s.version)
	}
	str, _ := sec.Data["signature"].(string)
	sig, err := parseTransitSignature(str, s.version)
	if err != nil {
		return nil, fmt.Errorf("vault: %s: %w", what, err)
	}
	if !s.verify(digest, sig, opts) {
		return nil, fmt.Errorf("vault: %s: %w: it does not verify with version %d's public key", what, ErrTransitSignature, s.version)
	}
	return sig, nil
}

// diagnose returns the error of a sign request Transit answered with 500:
// one matching [secrets.ErrRefused] when the key says the signer's version
// can no longer sign, err as it is otherwise.
func (s *TransitSigner) diagnose(ctx context.Context, err error) error {
	info, rerr := s.c.readTransitKey(ctx, s.mount, s.name)
	switch {
	case errors.Is(rerr, secrets.ErrRefused):
		return rerr
	case rerr != nil:
		return err
	}
	if _, ok := info.versions[s.version]; !ok || s.version < info.minEncryption {
		return fmt.Errorf("vault: sign with %s: %w: version %d may no longer sign (min_encryption_version %d)", s.key, secrets.ErrRefused, s.version, info.minEncryption)
	}
	return err
}

// transitHashes are the hashes Transit signs with, by its names.
var transitHashes = map[crypto.Hash]string{
	crypto.SHA224: "sha2-224",
	crypto.SHA256: "sha2-256",
	crypto.SHA384: "sha2-384",
	crypto.SHA512: "sha2-512",
}

// request returns the body of the sign request for digest and opts.
func (s *TransitSigner) request(digest []byte, opts crypto.SignerOpts) (map[string]any, error) {
	if opts == nil {
		return nil, fmt.Errorf("%w: vault: transit sign: nil signer options", secrets.ErrInvalidConfig)
	}
	req := map[string]any{
		"input":       base64.StdEncoding.EncodeToString(digest),
		"key_version": s.version,
	}
	h := opts.HashFunc()
	if s.keyType == "ed25519" {
		if h != 0 {
			return nil, fmt.Errorf("%w: vault: transit sign: ed25519 signs the message itself (crypto.Hash(0)); Ed25519ph is not offered", secrets.ErrInvalidConfig)
		}
		if o, ok := opts.(*ed25519.Options); ok && o.Context != "" {
			return nil, fmt.Errorf("%w: vault: transit sign: Ed25519ctx is not offered", secrets.ErrInvalidConfig)
		}
		return req, nil
	}
	name, ok := transitHashes[h]
	if !ok {
		return nil, fmt.Errorf("%w: vault: transit sign: hash %v is not offered", secrets.ErrInvalidConfig, h)
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("%w: vault: transit sign: the digest is %d bytes, not the %d of %v", secrets.ErrInvalidConfig, len(digest), h.Size(), h)
	}
	req["prehashed"] = true
	req["hash_algorithm"] = name
	if strings.HasPrefix(s.keyType, "ecdsa-") {
		req["marshaling_algorithm"] = "asn1"
		return req, nil
	}
	if pss, ok := opts.(*rsa.PSSOptions); ok {
		req["signature_algorithm"] = "pss"
		switch {
		case pss.SaltLength == rsa.PSSSaltLengthAuto:
			req["salt_length"] = "auto"
		case pss.SaltLength == rsa.PSSSaltLengthEqualsHash:
			req["salt_length"] = "hash"
		case pss.SaltLength > 0:
			req["salt_length"] = strconv.Itoa(pss.SaltLength)
		default:
			return nil, fmt.Errorf("%w: vault: transit sign: invalid PSS salt length %d", secrets.ErrInvalidConfig, pss.SaltLength)
		}
	} else {
		req["signature_algorithm"] = "pkcs1v15"
	}
	return req, nil
}

// verify checks a signature Transit made, as crypto/* would verify it.
func (s *TransitSigner) verify(digest, sig []byte, opts crypto.SignerOpts) bool {
	switch pub := s.pub.(type) {
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(pub, digest, sig)
	case ed25519.PublicKey:
		return ed25519.Verify(pub, digest, sig)
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			return rsa.VerifyPSS(pub, opts.HashFunc(), digest, sig, &rsa.PSSOptions{SaltLength: pss.SaltLength, Hash: opts.HashFunc()}) == nil
		}
		return rsa.VerifyPKCS1v15(pub, opts.HashFunc(), digest, sig) == nil
	}
	return false
}

// transitKey is what <mount>/keys/<name> says of a signing key.
type transitKey struct {
	mount, name, path string
	keyType           string
	latest            int
	minEncryption     int
	versions          map[int]transitVersion
}

type transitVersion struct {
	publicKey string
	created   time.Time
}

// readTransitKey reads and checks the signing key name of the Transit
// engine at mount.
func (c *Client) readTransitKey(ctx context.Context, mount, name string) (*transitKey, error) {
	mount = mountOr(mount, "transit")
	if name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("%w: vault: transit key name %q", secrets.ErrInvalidConfig, name)
	}
	keyPath := path.Join(mount, "keys", name)
	sec, err := c.do(ctx, "read "+keyPath, func(a *api.Client) (*api.Secret, error) {
		return a.Logical().ReadWithContext(ctx, keyPath)
	})
	if err != nil {
		return nil, err
	}
	if sec == nil {
		return nil, fmt.Errorf("vault: transit key %s: %w: no such key", keyPath, secrets.ErrRefused)
	}
	info, err := parseTransitKey(sec.Data)
	if err != nil {
		return nil, fmt.Errorf("vault: transit key %s: %w", keyPath, err)
	}
	info.mount, info.name, info.path = mount, name, keyPath
	return info, nil
}

func parseTransitKey(d map[string]any) (*transitKey, error) {
	info := &transitKey{versions: map[int]transitVersion{}}
	info.keyType, _ = d["type"].(string)
	if _, ok := transitKeyTypes[info.keyType]; !ok {
		return nil, fmt.Errorf("%w: key type %q does not sign tokens (ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072, rsa-4096 do)", secrets.ErrInvalidConfig, info.keyType)
	}
	if derived, _ := d["derived"].(bool); derived {
		return nil, fmt.Errorf("%w: a derived key signs only with a context", secrets.ErrInvalidConfig)
	}
	if deleted, _ := d["soft_deleted"].(bool); deleted {
		return nil, fmt.Errorf("%w: the key is soft-deleted", secrets.ErrRefused)
	}
	var err error
	if info.latest, err = jsonInt(d["latest_version"]); err != nil || info.latest < 1 {
		return nil, fmt.Errorf("%w: no latest version", ErrTransitSignature)
	}
	info.minEncryption, _ = jsonInt(d["min_encryption_version"])
	keys, _ := d["keys"].(map[string]any)
	for k, v := range keys {
		ver, err := strconv.Atoi(k)
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			continue
		}
		pk, _ := m["public_key"].(string)
		created, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(m["creation_time"]))
		info.versions[ver] = transitVersion{publicKey: pk, created: created}
	}
	return info, nil
}

func jsonInt(v any) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, errors.New("not a number")
	}
	i, err := strconv.Atoi(n.String())
	return i, err
}

// transitKeyTypes are the Transit key types a TransitSigner signs with,
// with the curve or modulus size their public keys must have.
var transitKeyTypes = map[string]int{
	"ecdsa-p256": 256,
	"ecdsa-p384": 384,
	"ed25519":    0,
	"rsa-2048":   2048,
	"rsa-3072":   3072,
	"rsa-4096":   4096,
}

// errPublicKey is what parseTransitPublicKey returns for any bad key.
var errPublicKey = fmt.Errorf("%w: malformed public key or not of the key's type", ErrTransitSignature)

// parseTransitPublicKey parses a public key as Transit returns it: PEM
// SubjectPublicKeyInfo for ECDSA and RSA keys, the base64 of the 32 raw
// bytes for ed25519 (PEM accepted too), and checks it is of keyType.
func parseTransitPublicKey(keyType, s string) (crypto.PublicKey, error) {
	size, ok := transitKeyTypes[keyType]
	if !ok {
		return nil, errPublicKey
	}
	if keyType == "ed25519" && !strings.HasPrefix(s, "-----") {
		b, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, errPublicKey
		}
		return ed25519.PublicKey(b), nil
	}
	block, rest := pem.Decode([]byte(s))
	if block == nil || block.Type != "PUBLIC KEY" || strings.TrimSpace(string(rest)) != "" {
		return nil, errPublicKey
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, errPublicKey
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if strings.HasPrefix(keyType, "ecdsa-") && k.Curve.Params().BitSize == size && (size == 256 && k.Curve == elliptic.P256() || size == 384 && k.Curve == elliptic.P384()) {
			return k, nil
		}
	case ed25519.PublicKey:
		if keyType == "ed25519" {
			return k, nil
		}
	case *rsa.PublicKey:
		if strings.HasPrefix(keyType, "rsa-") && k.N.BitLen() == size {
			return k, nil
		}
	}
	return nil, errPublicKey
}

// parseTransitSignature strips the "vault:v<version>:" prefix of a Transit
// signature, checks that version is the one asked for, and decodes the
// standard base64 that follows.
func parseTransitSignature(s string, version int) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, "vault:v")
	if !ok {
		return nil, fmt.Errorf("%w: no vault:v prefix", ErrTransitSignature)
	}
	num, b64, ok := strings.Cut(rest, ":")
	if !ok || num == "" || len(num) > 9 || num[0] == '0' || strings.Trim(num, "0123456789") != "" {
		return nil, fmt.Errorf("%w: malformed version prefix", ErrTransitSignature)
	}
	if v, _ := strconv.Atoi(num); v != version {
		return nil, fmt.Errorf("%w: signed with version %s, not %d", ErrTransitSignature, num, version)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(sig) == 0 {
		return nil, fmt.Errorf("%w: malformed signature encoding", ErrTransitSignature)
	}
	return sig, nil
}

// Defaults of a [TransitKeys].
const (
	// DefaultRotationOverlap is how long a new Transit key version is
	// published as the next key before it signs: at least the longest time a
	// verifier caches the JWKS (tokens' RemoteKeySet refreshes every five
	// minutes by default).
	DefaultRotationOverlap = 10 * time.Minute
	// DefaultSyncInterval is how often [TransitKeys.Run] looks for a new
	// Transit key version.
	DefaultSyncInterval = time.Minute
	// DefaultKeyRetention is how long a key keeps verifying after it stopped
	// signing: tokens.KeySet's default retention.
	DefaultKeyRetention = time.Hour
)

// TransitKeysOption configures a [TransitKeys]. [WithSignTimeout] is one.
type TransitKeysOption interface{ applyKeys(*keysConfig) }

type keysConfig struct {
	signer    signerConfig
	overlap   time.Duration
	interval  time.Duration
	retention time.Duration
	alg       string
	now       func() time.Time
	logger    *slog.Logger
}

type keysOptionFunc func(*keysConfig)

func (f keysOptionFunc) applyKeys(c *keysConfig) { f(c) }

// WithRotationOverlap sets how long a new Transit key version is published
// as the next key (in the JWKS, verifying) before it becomes the current,
// signing key: at least one JWKS cache lifetime of the verifiers. The default
// is [DefaultRotationOverlap]; zero or less keeps it.
func WithRotationOverlap(d time.Duration) TransitKeysOption {
	return keysOptionFunc(func(c *keysConfig) {
		if d > 0 {
			c.overlap = d
		}
	})
}

// WithSyncInterval sets how often [TransitKeys.Run] reads the Transit key.
// The default is [DefaultSyncInterval]; zero or less keeps it.
func WithSyncInterval(d time.Duration) TransitKeysOption {
	return keysOptionFunc(func(c *keysConfig) {
		if d > 0 {
			c.interval = d
		}
	})
}

// WithKeyRetention sets how long a key keeps verifying after it stopped
// signing (tokens.WithRetention of the KeySet): at least the longest token
// lifetime plus leeway. The default is [DefaultKeyRetention]; zero or less
// keeps it.
func WithKeyRetention(d time.Duration) TransitKeysOption {
	return keysOptionFunc(func(c *keysConfig) {
		if d > 0 {
			c.retention = d
		}
	})
}

// WithSigningAlgorithm sets the JWS algorithm the keys sign with, as
// tokens.NewSigningKey takes it ("RS256" for RSA keys that sign with PKCS #1
// v1.5); "" keeps the default for the key type (ES256, ES384, EdDSA, PS256).
func WithSigningAlgorithm(alg string) TransitKeysOption {
	return keysOptionFunc(func(c *keysConfig) { c.alg = alg })
}

// WithRotationClock sets the clock the rotation overlap and the KeySet's
// retention are measured with (tokens.WithClock). nil keeps time.Now. Tests
// inject one instead of sleeping.
func WithRotationClock(now func() time.Time) TransitKeysOption {
	return keysOptionFunc(func(c *keysConfig) {
		if now != nil {
			c.now = now
		}
	})
}

// WithSyncLogger sets where [TransitKeys] logs the key versions it publishes
// and rotates to (Info) and the failures of [TransitKeys.Run]'s syncs (Warn).
// nil keeps the default, which discards.
func WithSyncLogger(l *slog.Logger) TransitKeysOption {
	return keysOptionFunc(func(c *keysConfig) {
		if l != nil {
			c.logger = l
		}
	})
}

// TransitKeys keeps a [tokens.KeySet] in step with the versions of a
// Transit signing key, so that rotating the key in Transit (by hand, or
// with its auto_rotate_period) becomes a KeySet rotation with overlap:
//
//   - when [TransitKeys.Sync] sees a new latest version, it publishes it as
//     the KeySet's next key (KeySet.SetNext: it verifies and is in the JWKS
//     at once, and does not sign yet);
//   - once it has been published for the rotation overlap
//     ([WithRotationOverlap]), a Sync makes it current (KeySet.Rotate): it
//     signs, and the version before it keeps verifying for the retention
//     ([WithKeyRetention]), so tokens it signed stay valid.
//
// A version newer still that appears during the overlap replaces the
// pending one (which never signed), and the overlap starts again. Do not
// raise the Transit key's min_encryption_version past the current version
// before the overlap has passed: the current key could no longer sign.
//
// When it starts, TransitKeys restores the rotation as well as Transit's
// creation times allow: the latest version is the current key unless it
// was created less than an overlap ago and the version before it can still
// sign, in which case that one is current and the latest is next, published
// from then on; each earlier version whose successor was created less than
// an overlap plus the retention ago is restored as retired, verifying for a
// retention from the start. So a restarted issuer still verifies the tokens
// it signed before, and does not sign with a key verifiers have not seen.
//
// A TransitKeys is safe for concurrent use.
type TransitKeys struct {
	c     *Client
	mount string
	name  string
	cfg   keysConfig
	set   *tokens.KeySet

	mu        sync.Mutex // serializes syncs
	current   *TransitSigner
	next      *TransitSigner
	published time.Time // when next was published
}

// TransitKeys reads the Transit signing key keyName of the engine mounted
// at mount ("transit" when empty) and returns the key set of its versions
// (see [TransitKeys] for which is current). The Client's token needs read
// on <mount>/keys/<name> and update on <mount>/sign/<name>.
//
// Its errors are [Client.TransitSigner]'s, and [tokens.NewSigningKey]'s when a
// version does not fit the signing algorithm.
func (c *Client) TransitKeys(ctx context.Context, mount, keyName string, opts ...TransitKeysOption) (*TransitKeys, error) {
	cfg := keysConfig{
		signer:    newSignerConfig(nil),
		overlap:   DefaultRotationOverlap,
		interval:  DefaultSyncInterval,
		retention: DefaultKeyRetention,
		now:       time.Now,
		logger:    slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		if o != nil {
			o.applyKeys(&cfg)
		}
	}
	info, err := c.readTransitKey(ctx, mount, keyName)
	if err != nil {
		return nil, err
	}
	k := &TransitKeys{c: c, mount: info.mount, name: info.name, cfg: cfg}
	now := cfg.now()

	// The versions that verify (or sign) after a restart, oldest first: the
	// latest, the ones whose successor came less than an overlap plus the
	// retention ago, and nothing under min_encryption_version's predecessor
	// that Transit no longer has.
	first := info.latest
	for v := info.latest - 1; v >= 1; v-- {
		succ, ok1 := info.versions[v+1]
		if _, ok := info.versions[v]; !ok || !ok1 || !now.Before(succ.created.Add(cfg.overlap+cfg.retention)) {
			break
		}
		first = v
	}
	keys := make([]*TransitSigner, 0, info.latest-first+1)
	signing := make([]*tokens.SigningKey, 0, cap(keys))
	for v := first; v <= info.latest; v++ {
		s, err := c.newTransitSigner(info, v, cfg.signer)
		if err != nil {
			return nil, err
		}
		sk, err := tokens.NewSigningKey(s, cfg.alg)
		if err != nil {
			return nil, fmt.Errorf("vault: transit key %s version %d: %w", info.path, v, err)
		}
		keys, signing = append(keys, s), append(signing, sk)
	}
	// Hold the latest back as next while it is younger than the overlap and
	// its predecessor can sign.
	last := len(keys) - 1
	pending := last > 0 && now.Before(info.versions[info.latest].created.Add(cfg.overlap)) &&
		info.latest-1 >= info.minEncryption
	cur := last
	if pending {
		cur = last - 1
	}
	set, err := tokens.NewKeySet(signing[0], tokens.WithRetention(cfg.retention), tokens.WithClock(cfg.now))
	if err != nil {
		return nil, err
	}
	for i := 1; i <= cur; i++ {
		if err := errors.Join(set.SetNext(signing[i]), set.Rotate()); err != nil {
			return nil, fmt.Errorf("vault: transit key %s: %w", info.path, err)
		}
	}
	k.set, k.current = set, keys[cur]
	if pending {
		if err := set.SetNext(signing[last]); err != nil {
			return nil, fmt.Errorf("vault: transit key %s: %w", info.path, err)
		}
		k.next, k.published = keys[last], now
	}
	return k, nil
}

// KeySet returns the key set TransitKeys keeps: give it to a [tokens.Issuer]
// and serve its JWKS. Do not rotate it by other means.
func (k *TransitKeys) KeySet() *tokens.KeySet { return k.set }

// Versions returns the Transit key versions of the current key and of the
// next key (0 when none is pending).
func (k *TransitKeys) Versions() (current, next int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.next != nil {
		next = k.next.version
	}
	return k.current.version, next
}

// Sync makes the pending next key current when it has been published for
// the overlap, then reads the Transit key and publishes a newer version as
// the next key. The first step needs no Vault. It returns the errors of
// [Client.TransitSigner], and publishes nothing when Vault cannot be read:
// the current key goes on signing. A latest version older than
// one in use (the key was deleted and created again) fails with
// [secrets.ErrRefused] and changes nothing.
func (k *TransitKeys) Sync(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.next != nil && !k.cfg.now().Before(k.published.Add(k.cfg.overlap)) {
		if err := k.set.Rotate(); err != nil {
			return fmt.Errorf("vault: transit key %s/keys/%s: %w", k.mount, k.name, err)
		}
		k.current, k.next = k.next, nil
		k.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "vault: transit key rotated", slog.String("key", k.mount+"/keys/"+k.name), slog.Int("version", k.current.version))
	}
	info, err := k.c.readTransitKey(ctx, k.mount, k.name)
	if err != nil {
		return err
	}
	newest := k.current.version
	if k.next != nil {
		newest = k.next.version
	}
	switch {
	case info.latest == newest:
		return nil
	case info.latest < newest:
		return fmt.Errorf("vault: transit key %s: %w: latest version %d is older than version %d in use", info.path, secrets.ErrRefused, info.latest, newest)
	}
	s, err := k.c.newTransitSigner(info, info.latest, k.cfg.signer)
	if err != nil {
		return err
	}
	sk, err := tokens.NewSigningKey(s, k.cfg.alg)
	if err != nil {
		return fmt.Errorf("vault: transit key %s version %d: %w", info.path, info.latest, err)
	}
	if err := k.set.SetNext(sk); err != nil {
		return fmt.Errorf("vault: transit key %s: %w", info.path, err)
	}
	k.next, k.published = s, k.cfg.now()
	k.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "vault: transit key version published as next", slog.String("key", info.path), slog.Int("version", s.version), slog.Duration("overlap", k.cfg.overlap))
	return nil
}

// Run calls [TransitKeys.Sync] every sync interval ([WithSyncInterval]),
// and when a pending key's overlap ends, until ctx is done; it then returns
// ctx's error. A failed Sync is logged and tried again at the next
// interval: the key set keeps signing with its current key meanwhile.
func (k *TransitKeys) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if err := k.Sync(ctx); err != nil && ctx.Err() == nil {
			k.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "vault: transit key sync failed", slog.String("key", k.mount+"/keys/"+k.name), slog.Any("error", err))
		}
		t.Reset(k.wait())
	}
}

// wait returns how long Run sleeps: the interval, or less when a pending
// key's overlap ends sooner.
func (k *TransitKeys) wait() time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	d := k.cfg.interval
	if k.next != nil {
		if until := k.published.Add(k.cfg.overlap).Sub(k.cfg.now()); until < d {
			d = max(until, time.Millisecond)
		}
	}
	return d
}
