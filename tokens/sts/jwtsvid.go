package sts

import (
	"errors"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"

	"github.com/ztkit/ztkit/internal/jose"
	"github.com/ztkit/ztkit/internal/jsonscan"
)

// jwtSVIDAlgs are the JWT-SVID algorithms (SPIFFE JWT-SVID §3.1: RS256 to
// PS512) that ztkit's own verifier handles. Tokens under the others (RS384,
// ES512, ...) are verified by go-spiffe instead.
const jwtSVIDAlgs = jose.AlgSet(1<<jose.ES256 | 1<<jose.ES384 | 1<<jose.PS256 | 1<<jose.RS256)

// maxJWTSVIDSize bounds an actor token.
const maxJWTSVIDSize = 8 << 10

var errJWTSVID = errors.New("sts: invalid JWT-SVID")

// verifyJWTSVID verifies an actor token as a JWT-SVID for the server's
// audience (SPIFFE JWT-SVID §3, §4), as jwtsvid.ParseAndValidate does, on
// ztkit's strict JOSE path: typ absent, "JWT" or "JOSE"; no crit and no
// key in the header; sub a SPIFFE ID whose trust domain's JWT bundle holds
// the key named by kid; the signature; aud naming the audience; exp present
// and not past, nbf and iat not in the future, with the leeway. The claims
// are read strictly (a member named twice refuses the token). Algorithms
// this path does not implement go to go-spiffe.
func (s *Server) verifyJWTSVID(token string) (spiffeid.ID, error) {
	jws, err := jose.Parse(jose.StringBytes(token), maxJWTSVIDSize, nil)
	if errors.Is(err, jose.ErrUnsupportedAlg) {
		svid, err := jwtsvid.ParseAndValidate(token, s.cfg.jwtBundles, []string{s.cfg.jwtAudience})
		if err != nil {
			return spiffeid.ID{}, err
		}
		return svid.ID, nil
	}
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("%w: not a compact JWS", errJWTSVID)
	}
	h := &jws.Header
	switch {
	case !jwtSVIDAlgs.Has(h.Alg):
		return spiffeid.ID{}, fmt.Errorf("%w: algorithm not allowed", errJWTSVID)
	case h.Typ.Kind != jsonscan.Invalid && !h.Typ.Equal("JWT") && !h.Typ.Equal("JOSE"):
		return spiffeid.ID{}, fmt.Errorf("%w: typ is neither JWT nor JOSE", errJWTSVID)
	case h.Crit || h.EmbeddedKey:
		return spiffeid.ID{}, fmt.Errorf("%w: crit or a key in the header", errJWTSVID)
	case len(h.Kid) == 0:
		return spiffeid.ID{}, fmt.Errorf("%w: no kid", errJWTSVID)
	}
	c, err := parseSVIDClaimsFor(jws.Payload, s.cfg.jwtAudience)
	if err != nil {
		return spiffeid.ID{}, err
	}
	id, err := spiffeid.FromString(c.sub)
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("%w: sub is not a SPIFFE ID", errJWTSVID)
	}
	bundle, err := s.cfg.jwtBundles.GetJWTBundleForTrustDomain(id.TrustDomain())
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("%w: no JWT bundle for the trust domain", errJWTSVID)
	}
	key, ok := bundle.FindJWTAuthority(string(h.Kid))
	if !ok || jose.CheckKey(h.Alg, key) != nil || !jose.Verify(h.Alg, key, jws.SigningInput, jws.Signature) {
		return spiffeid.ID{}, fmt.Errorf("%w: signature does not verify with the bundle", errJWTSVID)
	}
	now, l := s.cfg.now(), s.cfg.leeway
	switch {
	case !c.hasAud:
		return spiffeid.ID{}, fmt.Errorf("%w: audience is not this server", errJWTSVID)
	case !c.hasExp:
		return spiffeid.ID{}, fmt.Errorf("%w: no exp", errJWTSVID)
	case now.Add(-l).After(c.exp):
		return spiffeid.ID{}, fmt.Errorf("%w: expired", errJWTSVID)
	case !c.nbf.IsZero() && now.Add(l).Before(c.nbf), !c.iat.IsZero() && now.Add(l).Before(c.iat):
		return spiffeid.ID{}, fmt.Errorf("%w: not yet valid", errJWTSVID)
	}
	return id, nil
}

// svidClaims are the claims of a JWT-SVID that decide its validity.
type svidClaims struct {
	sub            string
	exp, nbf, iat  time.Time
	hasExp, hasAud bool
}

// parseSVIDClaimsFor reads a JWT-SVID's claims; hasAud reports whether aud
// names audience. It does not allocate for aud.
func parseSVIDClaimsFor(payload []byte, audience string) (svidClaims, error) {
	var c svidClaims
	o := jsonscan.NewObject(payload)
	for o.Next() {
		v := o.Value()
		var err error
		switch string(o.Key()) {
		case "sub":
			c.sub, err = v.Str()
		case "aud":
			switch v.Kind {
			case jsonscan.String:
				c.hasAud = v.Equal(audience)
			case jsonscan.ArrayKind:
				a := v.Array()
				for a.Next() {
					e := a.Value()
					if e.Kind != jsonscan.String {
						err = jsonscan.ErrType
						break
					}
					c.hasAud = c.hasAud || e.Equal(audience)
				}
				if err == nil {
					err = a.Err()
				}
			default:
				err = jsonscan.ErrType
			}
		case "exp":
			c.exp, err = numericDate(v)
			c.hasExp = true
		case "nbf":
			c.nbf, err = numericDate(v)
		case "iat":
			c.iat, err = numericDate(v)
		}
		if err != nil {
			return c, fmt.Errorf("%w: claim %s has the wrong type", errJWTSVID, safeClaim(o.Key()))
		}
	}
	if o.Err() != nil {
		return c, fmt.Errorf("%w: claims are not a JSON object", errJWTSVID)
	}
	return c, nil
}
