package tokens

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	ijose "github.com/ztkit/ztkit/internal/jose"
	"github.com/ztkit/ztkit/internal/jsonscan"
)

// Claims are the verified claims of an access token (RFC 9068 §2.2, RFC 7519 §4.1).
//
// A Claims value returned by [Verifier.Verify] is the caller's own, slices
// included: editing or appending to them changes nothing that a later Verify
// of the same token returns.
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
	// Scopes is the scope claim split into its scope-tokens (RFC 9068
	// §2.2.3, RFC 6749 §3.3, see [ParseScope]); nil when the claim is absent.
	// A scope claim outside that grammar refuses the token with [ErrInvalidScope].
	Scopes []string
	// AuthTime, ACR and AMR describe how the subject authenticated (RFC 9068
	// §2.2.1, OpenID Connect Core §2); zero when absent.
	AuthTime time.Time
	ACR      string
	AMR      []string
	// Roles, Groups and Entitlements are the RFC 9068 §2.2.3.1 attributes (RFC 7643 §4.1.2).
	Roles, Groups, Entitlements []string
	// Confirmation is cnf (RFC 7800): how the token is bound to its holder.
	// A token with a cnf that Confirmation cannot represent in full is refused
	// with [ErrUnsupportedConfirmation], so a zero Confirmation means the token
	// had no cnf claim at all.
	Confirmation Confirmation
	// Actor is the act claim (RFC 8693 §4.1): the workload acting for
	// Subject, nearest first (Actor.Actor is the prior actor, and so on);
	// nil when the token has no act claim. Only the outermost actor is
	// authoritative: RFC 8693 §4.1 makes prior actors informational. An act
	// claim that is not a valid actor object, or nests deeper than
	// [MaxActorDepth], refuses the token with [ErrInvalidActor].
	Actor *Actor
	// MayAct is the may_act claim (RFC 8693 §4.4): the one party the token
	// says may act for Subject in a token exchange; nil when absent. RFC 8693
	// §4.4 defines may_act as a single JSON object, so it names one party;
	// ztkit does not read a list of parties (an array is refused with
	// [ErrInvalidActor]), nor a nested act inside may_act, which would be a
	// constraint on the chain that ztkit cannot enforce. To let several
	// workloads act, issue a token per workload, or leave may_act out and
	// decide in policy.
	MayAct *Actor
	// KeyID is the kid of the key that signed the token.
	KeyID string

	payload []byte
}

// Confirmation is the cnf claim (RFC 7800 §3): the key or certificate a
// token is bound to. [Verifier.Verify] accepts only the confirmation methods
// it can represent here, each a base64url SHA-256 thumbprint.
type Confirmation struct {
	// JKT is the RFC 7638 thumbprint of the DPoP key (RFC 9449 §6.1), or "".
	JKT string
	// X5TS256 is the base64url SHA-256 of the client certificate (RFC 8705 §3.1), or "".
	X5TS256 string
}

// Bound reports whether the token is bound to a key or certificate.
func (c Confirmation) Bound() bool { return c.JKT != "" || c.X5TS256 != "" }

// ownedSlices is how many strings a Claims copy holds without a second
// allocation: enough for the audience, scopes and amr of most tokens.
const ownedSlices = 8

// claimsBox is a Claims and room for its slices' elements, allocated together.
type claimsBox struct {
	c   Claims
	buf [ownedSlices]string
}

// clone returns a copy of c whose slices share no backing array with c nor
// with each other, each with its capacity capped at its length so that an
// append by the caller reallocates instead of writing into a neighbour. The
// strings themselves are immutable and shared. It costs one allocation for
// up to ownedSlices elements in all, two beyond, and one more for each of
// Actor and MayAct when present (the actor chain is copied whole).
func (c *Claims) clone() *Claims {
	box := &claimsBox{c: *c}
	n := len(c.Audience) + len(c.Scopes) + len(c.AMR) + len(c.Roles) + len(c.Groups) + len(c.Entitlements)
	if n == 0 {
		box.c.Actor, box.c.MayAct = c.Actor.clone(), c.MayAct.clone()
		return &box.c
	}
	buf := box.buf[:0]
	if n > ownedSlices {
		buf = make([]string, 0, n)
	}
	cp := &box.c
	cp.Actor, cp.MayAct = c.Actor.clone(), c.MayAct.clone()
	for _, f := range [...]*[]string{&cp.Audience, &cp.Scopes, &cp.AMR, &cp.Roles, &cp.Groups, &cp.Entitlements} {
		if *f == nil {
			continue
		}
		i := len(buf)
		buf = append(buf, *f...)
		*f = buf[i:len(buf):len(buf)]
	}
	return cp
}

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
// issuer, client, scopes, expiry, id and binding, and, when the token has
// them, the act chain ("act", subjects nearest first, space-separated) and
// the may_act subject ("may_act"). The subject and custom claims are left
// out. Actors are logged as [Actor.LogValue] does: SPIFFE IDs as they are,
// any other actor subject (possibly a person's) as [REDACTED].
func (c *Claims) LogValue() slog.Value {
	binding := "bearer"
	switch {
	case c.Confirmation.JKT != "":
		binding = "dpop"
	case c.Confirmation.X5TS256 != "":
		binding = "mtls"
	}
	attrs := []slog.Attr{
		slog.String("iss", c.Issuer),
		slog.String("client_id", c.ClientID),
		slog.String("scope", strings.Join(c.Scopes, " ")),
		slog.Time("exp", c.Expiry),
		slog.String("jti", c.ID),
		slog.String("binding", binding),
	}
	if c.Actor != nil {
		attrs = append(attrs, slog.Any("act", c.Actor))
	}
	if c.MayAct != nil {
		attrs = append(attrs, slog.Any("may_act", c.MayAct))
	}
	return slog.GroupValue(attrs...)
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
			if c.Scopes, err = parseScopeClaim(v); err != nil {
				return err
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
			if err = parseConfirmation(v, &c.Confirmation); err != nil {
				return err
			}
		case "act":
			if c.Actor, err = parseActor(v, "act", MaxActorDepth); err != nil {
				return err
			}
		case "may_act":
			if c.MayAct, err = parseActor(v, "may_act", 1); err != nil {
				return err
			}
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

// parseScopeClaim reads the scope claim: a JSON string in the grammar of
// RFC 6749 §3.3 (RFC 9068 §2.2.3, RFC 8693 §4.2). Any other value, including
// an array of scopes, is refused rather than interpreted.
func parseScopeClaim(v jsonscan.Value) ([]string, error) {
	s, err := v.Str()
	if err != nil {
		return nil, fmt.Errorf("%w: scope claim is not a JSON string", ErrInvalidScope)
	}
	return ParseScope(s)
}

// parseConfirmation reads cnf (RFC 7800 §3). Once a token carries cnf it is a
// proof-of-possession token: anything ztkit cannot enforce (cnf not an
// object, an empty object, any member but jkt and x5t#S256, or one of those
// not a base64url SHA-256 thumbprint) refuses the token with
// ErrUnsupportedConfirmation, so that it is never taken for a bearer token.
func parseConfirmation(v jsonscan.Value, cnf *Confirmation) error {
	if v.Kind != jsonscan.ObjectKind {
		return fmt.Errorf("%w: cnf is not a JSON object", ErrUnsupportedConfirmation)
	}
	o := v.Object()
	for o.Next() {
		var dst *string
		switch string(o.Key()) {
		case "jkt":
			dst = &cnf.JKT
		case "x5t#S256":
			dst = &cnf.X5TS256
		default:
			return fmt.Errorf("%w: cnf has a confirmation method other than jkt and x5t#S256", ErrUnsupportedConfirmation)
		}
		s, err := o.Value().Str()
		if err != nil || !validThumbprint(s) {
			return fmt.Errorf("%w: cnf %s is not a base64url SHA-256 thumbprint", ErrUnsupportedConfirmation, o.Key())
		}
		*dst = s
	}
	if o.Err() != nil {
		return fmt.Errorf("%w: cnf is not a valid JSON object", ErrMalformed)
	}
	if !cnf.Bound() {
		return fmt.Errorf("%w: cnf is empty", ErrUnsupportedConfirmation)
	}
	return nil
}

// validThumbprint reports whether s is the unpadded base64url encoding
// (RFC 7515 §2) of a SHA-256 digest, in its one canonical form: the form of
// the RFC 7638 thumbprint of cnf.jkt (RFC 9449 §6.1) and of cnf.x5t#S256
// (RFC 8705 §3.1).
func validThumbprint(s string) bool {
	if len(s) != thumbprintLen {
		return false
	}
	var sum [sha256.Size]byte
	n, err := base64.RawURLEncoding.Strict().Decode(sum[:], ijose.StringBytes(s))
	return err == nil && n == sha256.Size
}

// thumbprintLen is the length of an unpadded base64url SHA-256 digest.
const thumbprintLen = (sha256.Size*8 + 5) / 6

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
