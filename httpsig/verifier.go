package httpsig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/ztkit/ztkit/tokens/dpop"
)

// replayDomain keeps the (keyid, nonce) pairs of this package apart from the
// (jkt, jti) pairs of DPoP when both share one replay store.
const replayDomain = "rfc9421:"

// Verified is what a [Verifier] accepted: one signature of the message and
// what it covers.
type Verified struct {
	// Label is the signature's label in Signature-Input and Signature.
	Label string
	// KeyID is the id of the key that verified it.
	KeyID string
	// Algorithm is the key's algorithm.
	Algorithm Algorithm
	// Created is the created parameter.
	Created time.Time
	// Expires is the expires parameter, zero when absent.
	Expires time.Time
	// Nonce and Tag are the nonce and tag parameters, empty when absent.
	Nonce, Tag string
	// Components are the covered components, in order.
	Components []Component
	// DigestChecked reports that content-digest was covered and the body
	// matched it.
	DigestChecked bool
}

// Covers reports whether the signature covers c.
func (v *Verified) Covers(c Component) bool {
	for _, d := range v.Components {
		if d.same(c) {
			return true
		}
	}
	return false
}

// Verifier checks RFC 9421 signatures. It is safe for concurrent use.
type Verifier struct {
	keys KeyResolver
	cfg  verifierConfig
	// scratch holds *verifyScratch values: buffers one verification
	// reuses from another.
	scratch sync.Pool
}

// NewVerifier returns a Verifier that finds keys with keys. It fails with
// an error matching [ErrInvalidConfig] when an option cannot work.
func NewVerifier(keys KeyResolver, opts ...VerifierOption) (*Verifier, error) {
	if keys == nil {
		return nil, fmt.Errorf("%w: nil key resolver", ErrInvalidConfig)
	}
	cfg := verifierConfig{
		maxAge: DefaultMaxAge, leeway: DefaultLeeway, maxBody: DefaultMaxBodySize, now: time.Now,
		algs: []Algorithm{AlgECDSAP256SHA256, AlgEd25519, AlgRSAPSSSHA512, AlgRSAV15SHA256, AlgHMACSHA256},
	}
	for _, o := range opts {
		if o != nil {
			o.applyVerifier(&cfg)
		}
	}
	if !cfg.setComps {
		cfg.components = defaultRequestComponents
	}
	if !cfg.setResp {
		cfg.respComponents = defaultResponseComponents
	}
	switch {
	case cfg.err != nil:
		return nil, cfg.err
	case cfg.label != "" && !validLabel(cfg.label):
		return nil, fmt.Errorf("%w: label must be an RFC 8941 key", ErrInvalidConfig)
	case len(cfg.algs) == 0:
		return nil, fmt.Errorf("%w: no algorithms", ErrInvalidConfig)
	case cfg.maxAge < time.Second || cfg.maxAge > time.Hour:
		return nil, fmt.Errorf("%w: maximum age must be between 1s and 1h", ErrInvalidConfig)
	case cfg.leeway < 0 || cfg.leeway > 5*time.Minute:
		return nil, fmt.Errorf("%w: leeway must be between 0 and 5m", ErrInvalidConfig)
	case cfg.maxBody < 1 || cfg.maxBody > 1<<30:
		return nil, fmt.Errorf("%w: maximum body size must be between 1 byte and 1 GiB", ErrInvalidConfig)
	}
	for _, list := range [][]Component{cfg.components, cfg.respComponents} {
		for _, c := range list {
			if c.id == "" {
				return nil, fmt.Errorf("%w: zero Component", ErrInvalidConfig)
			}
			if err := c.validate(); err != nil {
				return nil, fmt.Errorf("%w: component %s: %w", ErrInvalidConfig, c.id, err)
			}
		}
	}
	if cfg.replay == nil {
		s, err := dpop.NewMemoryReplayStore()
		if err != nil {
			return nil, err
		}
		cfg.replay = s
	}
	return &Verifier{keys: keys, cfg: cfg}, nil
}

// VerifyRequest verifies the signature of r the verifier asks for (by label
// or tag, or the first that meets its requirements) and returns it.
//
// When the signature covers content-digest, VerifyRequest reads the body (at
// most the verifier's maximum body size), checks it against Content-Digest
// (RFC 9530) and replaces r.Body with the bytes read, so the handler reads
// the body that was checked.
//
// Each refusal matches one of ErrMissing, ErrMalformed, ErrInvalid,
// ErrExpired, ErrReplayed, ErrUnknownKey, ErrDigestMismatch, ErrInsufficient
// and ErrUnavailable. When the message has several candidate signatures and
// none is accepted, the error is the first one's.
func (v *Verifier) VerifyRequest(ctx context.Context, r *http.Request) (*Verified, error) {
	if r == nil || r.URL == nil {
		return nil, fmt.Errorf("%w: nil request", ErrMissing)
	}
	m := message{req: r, header: r.Header, scheme: v.cfg.scheme, authority: v.cfg.auth, fields: v.cfg.fields,
		budget: maxBaseInput, limited: true}
	body := bodyReader{rc: &r.Body, max: v.cfg.maxBody, hint: r.ContentLength}
	return v.verify(ctx, &m, v.cfg.components, &body)
}

// VerifyResponse verifies the signature of resp, a response to req (nil
// means resp.Request), as [Verifier.VerifyRequest] does a request's; the
// components it requires are those of [WithRequiredResponseComponents].
// When content-digest is covered, resp.Body is read and replaced.
func (v *Verifier) VerifyResponse(ctx context.Context, resp *http.Response, req *http.Request) (*Verified, error) {
	if resp == nil {
		return nil, fmt.Errorf("%w: nil response", ErrMissing)
	}
	if req == nil {
		req = resp.Request
	}
	m := message{req: req, header: resp.Header, status: resp.StatusCode, response: true,
		scheme: v.cfg.scheme, authority: v.cfg.auth, fields: v.cfg.fields, budget: maxBaseInput, limited: true}
	body := bodyReader{rc: &resp.Body, max: v.cfg.maxBody, hint: resp.ContentLength}
	return v.verify(ctx, &m, v.cfg.respComponents, &body)
}

// signatures are the parsed Signature-Input and Signature fields.
type signatures struct {
	inputs, sigs sfDict
}

// verifyScratch is what one verification reuses from the last: the parsed
// fields and the signature base's buffer.
type verifyScratch struct {
	signatures
	base []byte
}

// parseSignatures reads and bounds the two fields into ss and checks that
// they have the same labels.
func parseSignatures(h http.Header, ss *signatures) error {
	in, sig := h.Values("Signature-Input"), h.Values("Signature")
	if len(in) == 0 && len(sig) == 0 {
		return ErrMissing
	}
	if fieldSize(in) > maxFieldSize || fieldSize(sig) > maxFieldSize {
		return fmt.Errorf("%w: signature fields too large", ErrMalformed)
	}
	if err := parseSFDictionary(&ss.inputs, in); err != nil {
		return fmt.Errorf("%w: Signature-Input is not an RFC 8941 dictionary", ErrMalformed)
	}
	if err := parseSFDictionary(&ss.sigs, sig); err != nil {
		return fmt.Errorf("%w: Signature is not an RFC 8941 dictionary", ErrMalformed)
	}
	labels, sigLabels := ss.inputs.members, ss.sigs.members
	if len(labels) == 0 && len(sigLabels) == 0 {
		return ErrMissing
	}
	if len(labels) > maxSignatures || len(sigLabels) > maxSignatures {
		return fmt.Errorf("%w: too many signatures", ErrMalformed)
	}
	if len(labels) != len(sigLabels) {
		return fmt.Errorf("%w: Signature-Input and Signature do not have the same labels", ErrMalformed)
	}
	for i := range labels {
		if _, ok := ss.sigs.get(labels[i].key); !ok {
			return fmt.Errorf("%w: a label of Signature-Input has no Signature", ErrMalformed)
		}
	}
	return nil
}

func fieldSize(vs []string) int {
	n := 0
	for _, v := range vs {
		n += len(v) + 2
	}
	return n
}

func (v *Verifier) verify(ctx context.Context, m *message, required []Component, body *bodyReader) (*Verified, error) {
	sc, _ := v.scratch.Get().(*verifyScratch)
	if sc == nil {
		sc = &verifyScratch{base: make([]byte, 0, 1024)}
	}
	defer func() {
		sc.inputs.trim()
		sc.sigs.trim()
		v.scratch.Put(sc)
	}()
	ss := &sc.signatures
	if err := parseSignatures(m.header, ss); err != nil {
		return nil, err
	}
	var first, err error
	tried := false
	for i := range ss.inputs.members {
		in := &ss.inputs.members[i]
		label := in.key
		if v.cfg.label != "" && label != v.cfg.label {
			continue
		}
		if !in.inner {
			err = fmt.Errorf("%w: a Signature-Input member is not an inner list", ErrMalformed)
		} else {
			if v.cfg.tag != "" && !hasTag(in.params, v.cfg.tag) {
				continue
			}
			sm, _ := ss.sigs.get(label)
			var res *Verified
			res, err = v.verifyOne(ctx, m, required, body, sc, in, sm)
			if err == nil {
				return res, nil
			}
		}
		tried = true
		if first == nil {
			first = err
		}
		if v.cfg.label != "" {
			break
		}
	}
	if !tried {
		return nil, fmt.Errorf("%w: no signature with the required label or tag", ErrMissing)
	}
	return nil, first
}

func hasTag(p []sfParam, tag string) bool {
	t, ok := sfParamsGet(p, "tag")
	return ok && t.kind == sfString && t.s == tag
}

// verifyOne checks one signature: syntax, requirements, time, key, the
// signature itself, the digest, then replay, in that order so that only
// signatures that verify reach the replay store.
func (v *Verifier) verifyOne(ctx context.Context, m *message, required []Component, body *bodyReader,
	sc *verifyScratch, in, sm *sfMember) (*Verified, error) {
	if sm.inner || sm.v.kind != sfBytes {
		return nil, fmt.Errorf("%w: a Signature member is not a byte sequence", ErrMalformed)
	}
	sig := sm.v.bytes
	label := in.key
	if len(in.items) > maxComponents {
		return nil, fmt.Errorf("%w: too many components", ErrMalformed)
	}
	comps := make([]Component, len(in.items))
	digest := false
	for i := range in.items {
		c, err := componentFromSF(&in.items[i], &sc.base)
		if err != nil {
			return nil, err
		}
		if err := checkComponentFor(&c, m.response); err != nil {
			return nil, err
		}
		for _, d := range comps[:i] {
			if d.same(c) {
				return nil, fmt.Errorf("%w: component covered twice", ErrMalformed)
			}
		}
		comps[i] = c
		if c.name == "content-digest" && !c.req && (!c.hasKey || coversCheckedDigest(c.key)) {
			// Covered whole, or a member that the check compares with the
			// body: a covered md5 member binds nothing the verifier checks.
			digest = true
		}
	}
	sp, err := parseSigParams(in.params)
	if err != nil {
		return nil, err
	}

	// Requirements.
	if !sp.hasCreated {
		return nil, fmt.Errorf("%w: no created parameter", ErrInsufficient)
	}
	// An empty nonce names nothing to refuse a replay of, and a signature
	// that expires before it was created was never valid.
	if sp.hasNonce && sp.nonce == "" {
		return nil, fmt.Errorf("%w: empty nonce", ErrMalformed)
	}
	if sp.hasExpires && sp.expires < sp.created {
		return nil, fmt.Errorf("%w: expires before created", ErrMalformed)
	}
	for _, p := range v.cfg.params {
		if !sp.has(p) {
			return nil, fmt.Errorf("%w: no %s parameter", ErrInsufficient, p)
		}
	}
	for _, r := range required {
		found := false
		for _, c := range comps {
			if c.same(r) {
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: %s not covered", ErrInsufficient, r.id)
		}
	}

	// Time.
	now := v.cfg.now()
	created := time.Unix(sp.created, 0)
	if created.After(now.Add(v.cfg.leeway)) {
		return nil, fmt.Errorf("%w: created in the future", ErrExpired)
	}
	if now.Sub(created) > v.cfg.maxAge+v.cfg.leeway {
		return nil, fmt.Errorf("%w: created too long ago", ErrExpired)
	}
	var expires time.Time
	if sp.hasExpires {
		expires = time.Unix(sp.expires, 0)
		if now.After(expires.Add(v.cfg.leeway)) {
			return nil, fmt.Errorf("%w: expires has passed", ErrExpired)
		}
	}

	// Key.
	if !sp.hasKeyID {
		return nil, fmt.Errorf("%w: no keyid parameter", ErrUnknownKey)
	}
	key, err := v.keys.ResolveKey(ctx, sp.keyID)
	if err != nil {
		return nil, resolveError(err)
	}
	if key == nil {
		return nil, ErrUnknownKey
	}
	if key.keyID != sp.keyID {
		// A resolver that answers with another key (a default, a prefix or
		// case-folded match) would make Verified.KeyID an identity the
		// signer does not hold.
		return nil, fmt.Errorf("%w: the resolver returned a key of another id", ErrUnknownKey)
	}
	allowed := false
	for _, a := range v.cfg.algs {
		if a == key.alg {
			allowed = true
			break
		}
	}
	if !allowed {
		return nil, fmt.Errorf("%w: the key's algorithm is not allowed", ErrUnknownKey)
	}
	if sp.hasAlg && Algorithm(sp.alg) != key.alg {
		return nil, fmt.Errorf("%w: alg does not match the key", ErrUnknownKey)
	}

	// Signature.
	buf, ok := appendInnerList(sc.base[:0], comps, in.params)
	if !ok {
		return nil, fmt.Errorf("%w: signature parameters cannot be serialized", ErrMalformed)
	}
	// One buffer: the serialized parameters, then the base, whose last
	// line ends with them.
	n := len(buf)
	buf, err = m.appendComponents(buf, comps)
	if errors.Is(err, errBaseInput) {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	buf = append(buf, `"@signature-params": `...)
	buf = append(buf, buf[:n]...)
	if cap(buf) <= 64<<10 {
		sc.base = buf // kept for the next verification, unless huge
	}
	if !key.verify(buf[n:], sig) {
		return nil, ErrInvalid
	}

	// Body.
	if digest {
		if err := body.check(m.header.Values("Content-Digest")); err != nil {
			return nil, err
		}
	}

	// Replay.
	if sp.hasNonce {
		exp := created.Add(v.cfg.maxAge + v.cfg.leeway)
		if sp.hasExpires && expires.Add(v.cfg.leeway).Before(exp) {
			exp = expires.Add(v.cfg.leeway)
		}
		if err := v.cfg.replay.CheckAndStore(ctx, replayDomain+sp.keyID, sp.nonce, exp); err != nil {
			if errors.Is(err, dpop.ErrReplayed) {
				return nil, ErrReplayed
			}
			return nil, fmt.Errorf("%w: replay store: %w", ErrUnavailable, err)
		}
	}

	return &Verified{
		Label: label, KeyID: sp.keyID, Algorithm: key.alg, Created: created, Expires: expires,
		Nonce: sp.nonce, Tag: sp.tag, Components: comps, DigestChecked: digest,
	}, nil
}

// resolveError maps a KeyResolver's error onto the sentinels: unknown key,
// or unavailable for anything the resolver did not classify.
func resolveError(err error) error {
	switch {
	case errors.Is(err, ErrUnknownKey), errors.Is(err, ErrUnavailable):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	default:
		return fmt.Errorf("%w: key resolver: %w", ErrUnavailable, err)
	}
}

// same reports whether c and o are the same component identifier
// (RFC 9421 §2: the name and the same parameters, in any order).
func (c Component) same(o Component) bool {
	return c.name == o.name && c.qname == o.qname && c.hasKey == o.hasKey && c.key == o.key &&
		c.sf == o.sf && c.bs == o.bs && c.req == o.req
}

// bodyReader reads a message's body once, bounded, and puts the bytes back.
type bodyReader struct {
	rc   *io.ReadCloser
	max  int64
	hint int64 // Content-Length, -1 or 0 when unknown
	read bool
	buf  []byte
	err  error
}

// bytes returns the body, reading it the first time.
func (b *bodyReader) bytes() ([]byte, error) {
	if b.read {
		return b.buf, b.err
	}
	b.read = true
	if *b.rc == nil || *b.rc == http.NoBody {
		return nil, nil
	}
	rc := *b.rc
	data, err := readBounded(rc, b.max, b.hint)
	_ = rc.Close()
	*b.rc = newBufferedBody(data)
	// Neither is a forgery, so neither is ErrDigestMismatch (logged as an
	// attack): a body that cannot be read (the client went away) or is
	// longer than the verifier reads is a message the verifier cannot check.
	switch {
	case err != nil:
		b.err = fmt.Errorf("%w: reading the body: %w", ErrMalformed, err)
	case int64(len(data)) > b.max:
		b.err = fmt.Errorf("%w: body larger than the verifier reads", ErrMalformed)
	}
	b.buf = data
	return b.buf, b.err
}

// check checks the body against the Content-Digest field lines.
func (b *bodyReader) check(field []string) error {
	data, err := b.bytes()
	if err != nil {
		return err
	}
	return checkContentDigest(field, data)
}

// readBounded reads r to its end or to max+1 bytes, whichever comes first,
// in a buffer sized from hint (the Content-Length, when known and within
// max) so that a body of the announced size is read without growing it.
func readBounded(r io.Reader, max, hint int64) ([]byte, error) {
	size := int64(512)
	if hint > 0 && hint <= max {
		size = hint + 1 // one more byte to see EOF without growing
	}
	data := make([]byte, 0, size)
	for int64(len(data)) <= max {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return data, err
		}
	}
	return data, nil
}
