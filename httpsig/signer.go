package httpsig

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/dunglas/httpsfv"
	"github.com/ztkit/ztkit/internal/redacted"
)

// Signer adds RFC 9421 signatures to requests and responses, with one key
// and one set of options. It is safe for concurrent use if its key is.
type Signer struct {
	key *SigningKey
	cfg signerConfig
}

// NewSigner returns a Signer that signs with key. It fails with an error
// matching [ErrInvalidConfig] when an option cannot work: an invalid label,
// component or tag, a component given twice.
func NewSigner(key *SigningKey, opts ...SignerOption) (*Signer, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: nil signing key", ErrInvalidConfig)
	}
	cfg := signerConfig{label: DefaultLabel, now: time.Now}
	for _, o := range opts {
		if o != nil {
			o.applySigner(&cfg)
		}
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	switch {
	case !validLabel(cfg.label):
		return nil, fmt.Errorf("%w: label must be an RFC 8941 key", ErrInvalidConfig)
	case !printableASCII(key.keyID) || len(key.keyID) > maxParamLen:
		return nil, fmt.Errorf("%w: key id must be visible ASCII", ErrInvalidConfig)
	case !printableASCII(cfg.tag) || len(cfg.tag) > maxParamLen:
		return nil, fmt.Errorf("%w: tag must be visible ASCII", ErrInvalidConfig)
	case len(cfg.components) > maxComponents:
		return nil, fmt.Errorf("%w: too many components", ErrInvalidConfig)
	}
	for i, c := range cfg.components {
		if c.id == "" {
			return nil, fmt.Errorf("%w: zero Component", ErrInvalidConfig)
		}
		if err := c.validate(); err != nil {
			return nil, fmt.Errorf("%w: component %s: %w", ErrInvalidConfig, c.id, err)
		}
		for _, d := range cfg.components[:i] {
			if d.id == c.id {
				return nil, fmt.Errorf("%w: component %s given twice", ErrInvalidConfig, c.id)
			}
		}
	}
	return &Signer{key: key, cfg: cfg}, nil
}

var (
	defaultRequestComponents  = []Component{Derived(componentMethod), Derived(componentAuthority), Derived(componentPath), Derived(componentQuery)}
	defaultResponseComponents = []Component{Derived(componentStatus)}
	contentDigest             = Field("content-digest")
)

// SignRequest signs r and adds the signature to its Signature-Input and
// Signature fields, under the signer's label, beside any signature already
// there. It does not compute Content-Digest: when content-digest is covered,
// r must have it (package httpsig/digest computes it).
func (s *Signer) SignRequest(r *http.Request) error {
	if r == nil || r.URL == nil {
		return errors.New("httpsig: sign: nil request")
	}
	m := message{req: r, header: r.Header, fields: s.cfg.fields}
	if r.Header == nil {
		r.Header = http.Header{}
		m.header = r.Header
	}
	return s.sign(&m, defaultRequestComponents)
}

// SignResponse signs resp and adds the signature to its Signature-Input and
// Signature fields. req is the request resp answers, from which components
// with the req parameter are taken; nil means resp.Request.
func (s *Signer) SignResponse(resp *http.Response, req *http.Request) error {
	if resp == nil {
		return errors.New("httpsig: sign: nil response")
	}
	if req == nil {
		req = resp.Request
	}
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	m := message{req: req, header: resp.Header, status: resp.StatusCode, response: true, fields: s.cfg.fields}
	return s.sign(&m, defaultResponseComponents)
}

func (s *Signer) sign(m *message, defaults []Component) error {
	h := m.header
	if err := checkLabelFree(h, s.cfg.label); err != nil {
		return err
	}
	comps := s.cfg.components
	if !s.cfg.setComps {
		comps = defaults
		if h.Get("Content-Digest") != "" {
			comps = append(comps[:len(comps):len(comps)], contentDigest)
		}
	}
	for i := range comps {
		if err := checkComponentFor(&comps[i], m.response); err != nil {
			return fmt.Errorf("httpsig: sign: %w", err)
		}
	}
	now := s.cfg.now()
	sp := sigParams{created: now.Unix(), hasCreated: true, keyID: s.key.keyID, hasKeyID: true}
	if s.cfg.expiresIn > 0 {
		sp.expires, sp.hasExpires = now.Add(s.cfg.expiresIn).Unix(), true
	}
	if s.cfg.algParam {
		sp.alg, sp.hasAlg = string(s.key.alg), true
	}
	if s.cfg.nonce != nil {
		n, err := s.cfg.nonce()
		if err != nil {
			return fmt.Errorf("httpsig: sign: nonce: %w", err)
		}
		if n == "" || !printableASCII(n) || len(n) > maxParamLen {
			return errors.New("httpsig: sign: nonce must be non-empty visible ASCII")
		}
		sp.nonce, sp.hasNonce = n, true
	}
	if s.cfg.tag != "" {
		sp.tag, sp.hasTag = s.cfg.tag, true
	}
	params := appendSignatureParams(make([]byte, 0, 256), comps, &sp)
	base, err := m.build(make([]byte, 0, 512), comps, string(params))
	if err != nil {
		return fmt.Errorf("httpsig: sign: %w", err)
	}
	sig, err := s.key.sign(base)
	if err != nil {
		return fmt.Errorf("httpsig: sign: %w", err)
	}
	in := s.cfg.label + "=" + string(params)
	out := s.cfg.label + "=:" + base64.StdEncoding.EncodeToString(sig) + ":"
	addDictMember(h, "Signature-Input", in)
	addDictMember(h, "Signature", out)
	return nil
}

// addDictMember adds member to the dictionary field name, on the same line.
func addDictMember(h http.Header, name, member string) {
	if old := h.Values(name); len(old) > 0 {
		v := old[0]
		for _, o := range old[1:] {
			v += ", " + o
		}
		h.Set(name, v+", "+member)
		return
	}
	h.Set(name, member)
}

// checkLabelFree fails when the message's Signature-Input or Signature
// cannot be parsed or already has label.
func checkLabelFree(h http.Header, label string) error {
	for _, name := range [...]string{"Signature-Input", "Signature"} {
		vs := h.Values(name)
		if len(vs) == 0 {
			continue
		}
		d, err := httpsfv.UnmarshalDictionary(vs)
		if err != nil {
			return fmt.Errorf("httpsig: sign: the message's %s field is malformed", name)
		}
		if _, ok := d.Get(label); ok {
			return fmt.Errorf("httpsig: sign: the message has a signature labeled %q already", label)
		}
	}
	return nil
}

// checkComponentFor checks that c can be taken from a request (response
// false) or a response.
func checkComponentFor(c *Component, response bool) error {
	switch {
	case !response && c.req:
		return fmt.Errorf("%w: req parameter in a request's signature", ErrMalformed)
	case !response && c.name == componentStatus:
		return fmt.Errorf("%w: @status in a request's signature", ErrMalformed)
	case response && c.derived() && c.name != componentStatus && !c.req:
		return fmt.Errorf("%w: request component in a response's signature without req", ErrMalformed)
	}
	return nil
}

// String returns [REDACTED]: a Signer holds its key.
func (s Signer) String() string { return redacted.Marker }

// GoString returns [REDACTED].
func (s Signer) GoString() string { return redacted.Marker }

// Format writes [REDACTED] for every verb.
func (s Signer) Format(f fmt.State, verb rune) { redacted.Format(f, verb) }

// LogValue returns [REDACTED].
func (s Signer) LogValue() slog.Value { return redacted.LogValue() }

// MarshalJSON returns "[REDACTED]".
func (s Signer) MarshalJSON() ([]byte, error) { return redacted.JSON(), nil }
