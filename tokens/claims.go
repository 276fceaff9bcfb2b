package tokens

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ztkit/ztkit/internal/jsonscan"
)

// Claims are the verified claims of an access token (RFC 9068 §2.2, RFC 7519 §4.1).
//
// A Claims value returned by [Verifier.Verify] is the caller's own copy; its
// slices may be shared with the verifier's cache and must not be modified in place.
type Claims struct {
	// Issuer is iss.
	Issuer string
	// Subject is sub: the end user or, for client-credentials tokens, the client.
	Subject string
	// Audience is aud, as a list even when the token held a single string.
	Audience []string
	// Expiry, NotBefore and IssuedAt are exp, nbf and iat; NotBefore is zero when absent.
	Expiry, NotBefore, IssuedAt time.Time
	// ID is jti.
	ID string
	// ClientID is client_id (RFC 8693 §4.3).
	ClientID string
	// Scopes is the space-separated scope claim, split.
	Scopes []string
	// AuthTime, ACR and AMR describe how the subject authenticated (RFC 9068
	// §2.2.1, OpenID Connect Core §2); zero when absent.
	AuthTime time.Time
	ACR      string
	AMR      []string
	// Roles, Groups and Entitlements are the RFC 9068 §2.2.3.1 attributes (RFC 7643 §4.1.2).
	Roles, Groups, Entitlements []string
	// Confirmation is cnf (RFC 7800): how the token is bound to its holder.
	Confirmation Confirmation
	// KeyID is the kid of the key that signed the token.
	KeyID string

	payload []byte
}

// Confirmation is the cnf claim: the key or certificate a token is bound to.
type Confirmation struct {
	// JKT is the RFC 7638 thumbprint of the DPoP key (RFC 9449 §6.1), or "".
	JKT string
	// X5TS256 is the base64url SHA-256 of the client certificate (RFC 8705 §3.1), or "".
	X5TS256 string
}

// Bound reports whether the token is bound to a key or certificate.
func (c Confirmation) Bound() bool { return c.JKT != "" || c.X5TS256 != "" }

// HasScope reports whether the token grants scope s.
func (c *Claims) HasScope(s string) bool { return slices.Contains(c.Scopes, s) }

// HasAudience reports whether aud contains a.
func (c *Claims) HasAudience(a string) bool { return slices.Contains(c.Audience, a) }

// Decode unmarshals the token's whole verified claims set into v with
// encoding/json, for claims this type does not model. encoding/json matches
// names case-insensitively: read registered claims from the fields of Claims,
// which are matched exactly, not through Decode.
func (c *Claims) Decode(v any) error {
	if c.payload == nil {
		return fmt.Errorf("%w: no claims to decode", ErrMalformed)
	}
	return json.Unmarshal(c.payload, v)
}

// LogValue logs what identifies a token for operators without personal data:
// issuer, client, scopes, expiry, id and binding. The subject and custom
// claims are left out.
func (c *Claims) LogValue() slog.Value {
	binding := "bearer"
	switch {
	case c.Confirmation.JKT != "":
		binding = "dpop"
	case c.Confirmation.X5TS256 != "":
		binding = "mtls"
	}
	return slog.GroupValue(
		slog.String("iss", c.Issuer),
		slog.String("client_id", c.ClientID),
		slog.String("scope", strings.Join(c.Scopes, " ")),
		slog.Time("exp", c.Expiry),
		slog.String("jti", c.ID),
		slog.String("binding", binding),
	)
}

// claim bits for the required-claims check.
const (
	hasIss = 1 << iota
	hasSub
	hasAud
	hasExp
	hasIat
	hasJti
	hasClientID
	required = hasIss | hasSub | hasAud | hasExp | hasIat | hasJti | hasClientID
)

// parseClaims reads a claims set strictly. Any registered claim of the wrong
// JSON type is an error; unknown claims are kept only in payload.
//
// Values equal to one in known (the expected issuer and audiences) reuse that
// string instead of allocating a copy.
func parseClaims(payload []byte, c *Claims, known []string) error {
	var have uint
	o := jsonscan.NewObject(payload)
	for o.Next() {
		v := o.Value()
		var err error
		switch string(o.Key()) {
		case "iss":
			c.Issuer, err = internStr(v, known)
			have |= hasIss
		case "sub":
			c.Subject, err = v.Str()
			have |= hasSub
		case "aud":
			c.Audience, err = stringOrList(v, known)
			have |= hasAud
		case "exp":
			c.Expiry, err = numericDate(v)
			have |= hasExp
		case "nbf":
			c.NotBefore, err = numericDate(v)
		case "iat":
			c.IssuedAt, err = numericDate(v)
			have |= hasIat
		case "jti":
			c.ID, err = v.Str()
			have |= hasJti
		case "client_id":
			c.ClientID, err = v.Str()
			have |= hasClientID
		case "scope":
			var s string
			if s, err = v.Str(); err == nil {
				c.Scopes = strings.Fields(s)
			}
		case "auth_time":
			c.AuthTime, err = numericDate(v)
		case "acr":
			c.ACR, err = v.Str()
		case "amr":
			c.AMR, err = stringList(v)
		case "roles":
			c.Roles, err = stringList(v)
		case "groups":
			c.Groups, err = stringList(v)
		case "entitlements":
			c.Entitlements, err = stringList(v)
		case "cnf":
			err = parseConfirmation(v, &c.Confirmation)
		}
		if err != nil {
			return fmt.Errorf("%w: claim %q has the wrong type", ErrMissingClaim, o.Key())
		}
	}
	if o.Err() != nil {
		return fmt.Errorf("%w: claims are not a valid JSON object", ErrMalformed)
	}
	if have&required != required || c.Issuer == "" || c.Subject == "" || c.ID == "" || c.ClientID == "" || len(c.Audience) == 0 {
		return fmt.Errorf("%w: %s", ErrMissingClaim, missingClaims(have, c))
	}
	c.payload = payload
	return nil
}

func missingClaims(have uint, c *Claims) string {
	var missing []string
	for _, m := range []struct {
		bit   uint
		name  string
		empty bool
	}{
		{hasIss, "iss", c.Issuer == ""}, {hasSub, "sub", c.Subject == ""}, {hasAud, "aud", len(c.Audience) == 0},
		{hasExp, "exp", false}, {hasIat, "iat", false}, {hasJti, "jti", c.ID == ""}, {hasClientID, "client_id", c.ClientID == ""},
	} {
		if have&m.bit == 0 || m.empty {
			missing = append(missing, m.name)
		}
	}
	return "missing " + strings.Join(missing, ", ")
}

func parseConfirmation(v jsonscan.Value, cnf *Confirmation) error {
	o := v.Object()
	for o.Next() {
		var err error
		switch string(o.Key()) {
		case "jkt":
			cnf.JKT, err = v2str(o.Value())
		case "x5t#S256":
			cnf.X5TS256, err = v2str(o.Value())
		}
		if err != nil {
			return err
		}
	}
	return o.Err()
}

// v2str reads a non-empty string.
func v2str(v jsonscan.Value) (string, error) {
	s, err := v.Str()
	if err == nil && s == "" {
		err = jsonscan.ErrType
	}
	return s, err
}

// stringOrList reads aud: a string or an array of strings (RFC 7519 §4.1.3).
func stringOrList(v jsonscan.Value, known []string) ([]string, error) {
	if v.Kind == jsonscan.String {
		s, err := internStr(v, known)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	return stringList(v)
}

// internStr reads a string value, returning the element of known it equals
// without allocating, or a copy.
func internStr(v jsonscan.Value, known []string) (string, error) {
	for _, k := range known {
		if v.Equal(k) {
			return k, nil
		}
	}
	return v.Str()
}

func stringList(v jsonscan.Value) ([]string, error) {
	if v.Kind != jsonscan.ArrayKind {
		return nil, jsonscan.ErrType
	}
	n := 0
	a := v.Array()
	for a.Next() {
		n++
	}
	if err := a.Err(); err != nil {
		return nil, err
	}
	out := make([]string, 0, n)
	a = v.Array()
	for a.Next() {
		s, err := a.Value().Str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// maxNumericDate is the year 9999: later dates are refused as nonsense.
const maxNumericDate = 253402300799

// numericDate reads a NumericDate (RFC 7519 §2): seconds since the epoch,
// possibly fractional; negative values and values past year 9999 are refused.
func numericDate(v jsonscan.Value) (time.Time, error) {
	f, err := v.Float()
	if err != nil {
		return time.Time{}, err
	}
	if f < 0 || f > maxNumericDate {
		return time.Time{}, jsonscan.ErrType
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}
