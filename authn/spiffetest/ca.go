package spiffetest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// caBackdate is how far the root CA's NotBefore lies before its creation, so
// that a verifier whose clock is slightly behind still accepts it.
const caBackdate = time.Minute

// jwtLeeway is the clock skew ValidateJWTSVID tolerates on exp and iat, the
// same as go-jose's and go-spiffe's default.
const jwtLeeway = jwt.DefaultLeeway

// jwtAlgorithms are the algorithms a JWT-SVID may be signed with (JWT-SVID
// §2.1). The issuer signs with ES256 only; a federated trust domain may use
// any of these.
var jwtAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.PS256, jose.PS384, jose.PS512,
}

// authority is the issuer's key material: an X.509 root CA and a JWT signing
// key for one trust domain. It is immutable after newAuthority and safe for
// concurrent use.
type authority struct {
	td        spiffeid.TrustDomain
	cert      *x509.Certificate
	key       *ecdsa.PrivateKey
	jwtKey    *ecdsa.PrivateKey
	jwtKid    string
	jwtSigner jose.Signer
}

func newAuthority(td spiffeid.TrustDomain, now time.Time) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("spiffetest: generate CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization: []string{"SPIFFE"},
			CommonName:   "spiffetest CA " + td.Name(),
		},
		// X509-SVID §3.2: a signing certificate SHOULD be an SVID itself, whose
		// SPIFFE ID has no path and lies in the trust domain it issues for.
		URIs:                  []*url.URL{td.ID().URL()},
		NotBefore:             now.Add(-caBackdate),
		NotAfter:              now.Add(caLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true, // no intermediates below this root
		// X509-SVID §4.3: keyCertSign MUST, cRLSign MAY be set; Go marks the
		// extension critical.
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("spiffetest: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("spiffetest: parse CA certificate: %w", err)
	}

	jwtKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("spiffetest: generate JWT key: %w", err)
	}
	thumb, err := (&jose.JSONWebKey{Key: jwtKey.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("spiffetest: JWT key thumbprint: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(thumb)
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: jwtKey, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("spiffetest: JWT signer: %w", err)
	}
	return &authority{td: td, cert: cert, key: key, jwtKey: jwtKey, jwtKid: kid, jwtSigner: signer}, nil
}

// bundle returns a fresh SPIFFE bundle holding the CA certificate and the JWT
// public key.
func (a *authority) bundle() *spiffebundle.Bundle {
	b := spiffebundle.New(a.td)
	b.SetX509Authorities([]*x509.Certificate{a.cert})
	b.SetJWTAuthorities(map[string]crypto.PublicKey{a.jwtKid: a.jwtKey.Public()})
	return b
}

// issueX509 signs a leaf X509-SVID for id valid from notBefore to notAfter,
// with dnsNames as DNS SANs and the first of them as the subject's common
// name (as SPIRE does). The returned chain is the leaf alone: the root is the
// bundle.
func (a *authority) issueX509(id spiffeid.ID, notBefore, notAfter time.Time, dnsNames []string) (*x509svid.SVID, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("spiffetest: generate SVID key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		// A subject keeps the URI SAN extension non-critical (X509-SVID §3.1).
		Subject: pkix.Name{Organization: []string{"SPIFFE"}},
		// X509-SVID §2: exactly one URI SAN, the SPIFFE ID.
		URIs:                  []*url.URL{id.URL()},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		IsCA:                  false,
		// X509-SVID §4.3 and §4.4.
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if len(dnsNames) > 0 {
		tmpl.DNSNames = slices.Clone(dnsNames)
		tmpl.Subject.CommonName = dnsNames[0]
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, key.Public(), a.key)
	if err != nil {
		return nil, fmt.Errorf("spiffetest: create X509-SVID: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("spiffetest: parse X509-SVID: %w", err)
	}
	return &x509svid.SVID{ID: id, Certificates: []*x509.Certificate{cert}, PrivateKey: key}, nil
}

// signJWT signs a JWT-SVID for id with the given audience, iat and exp.
func (a *authority) signJWT(id spiffeid.ID, audience []string, iat, exp time.Time) (string, error) {
	claims := jwt.Claims{
		Subject:  id.String(),
		Audience: jwt.Audience(audience),
		IssuedAt: jwt.NewNumericDate(iat),
		Expiry:   jwt.NewNumericDate(exp),
	}
	token, err := jwt.Signed(a.jwtSigner).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("spiffetest: sign JWT-SVID: %w", err)
	}
	return token, nil
}

func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("spiffetest: serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil // RFC 5280 §4.1.2.2: positive
}

// Reasons ValidateJWTSVID refuses a token. They reach the caller only as the
// message of an InvalidArgument status; none contains the token.
var (
	errTokenMalformed = errors.New("malformed JWT-SVID")
	errTokenType      = errors.New("JWT-SVID typ header is not JWT or JOSE")
	errTokenKeyID     = errors.New("JWT-SVID header has no kid")
	errTokenSubject   = errors.New("JWT-SVID sub is not a SPIFFE ID")
	errTokenBundle    = errors.New("no JWT bundle for the JWT-SVID's trust domain")
	errTokenKey       = errors.New("no JWT authority for the JWT-SVID's kid")
	errTokenSignature = errors.New("JWT-SVID signature does not verify")
	errTokenClaims    = errors.New("JWT-SVID lacks aud or exp")
	errTokenAudience  = errors.New("JWT-SVID audience does not match")
	errTokenTime      = errors.New("JWT-SVID expired or not yet valid")
)

// validateJWTSVID checks a JWT-SVID as JWT-SVID §4 and Appendix A require:
// allowed alg, typ JWT or JOSE if present, signature by the key named by kid
// in the bundle of the sub's trust domain, aud present and containing
// audience, exp present and not past (iat not in the future), both with
// jwtLeeway. It returns the SPIFFE ID and all claims.
func validateJWTSVID(token, audience string, bundles jwtbundle.Source, now time.Time) (spiffeid.ID, map[string]any, error) {
	tok, err := jwt.ParseSigned(token, jwtAlgorithms)
	if err != nil || len(tok.Headers) != 1 {
		return spiffeid.ID{}, nil, errTokenMalformed
	}
	h := tok.Headers[0]
	if typ, ok := h.ExtraHeaders[jose.HeaderType]; ok && typ != "JWT" && typ != "JOSE" {
		return spiffeid.ID{}, nil, errTokenType
	}
	if h.KeyID == "" {
		return spiffeid.ID{}, nil, errTokenKeyID
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return spiffeid.ID{}, nil, errTokenMalformed
	}
	id, err := spiffeid.FromString(unverified.Subject)
	if err != nil {
		return spiffeid.ID{}, nil, errTokenSubject
	}
	bundle, err := bundles.GetJWTBundleForTrustDomain(id.TrustDomain())
	if err != nil {
		return spiffeid.ID{}, nil, errTokenBundle
	}
	key, ok := bundle.FindJWTAuthority(h.KeyID)
	if !ok {
		return spiffeid.ID{}, nil, errTokenKey
	}
	var claims jwt.Claims
	all := map[string]any{}
	if err := tok.Claims(key, &claims, &all); err != nil {
		return spiffeid.ID{}, nil, errTokenSignature
	}
	// go-jose skips checks on absent claims; JWT-SVID §3.2 and §3.3 require both.
	if claims.Expiry == nil || len(claims.Audience) == 0 {
		return spiffeid.ID{}, nil, errTokenClaims
	}
	err = claims.ValidateWithLeeway(jwt.Expected{AnyAudience: jwt.Audience{audience}, Time: now}, jwtLeeway)
	switch {
	case errors.Is(err, jwt.ErrInvalidAudience):
		return spiffeid.ID{}, nil, errTokenAudience
	case err != nil:
		return spiffeid.ID{}, nil, errTokenTime
	}
	return id, all, nil
}
