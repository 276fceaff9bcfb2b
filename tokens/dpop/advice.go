package dpop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ztkit/ztkit/internal/dpopnonce"
)

// Action is what a client must do about a refused request, as [Advise]
// reads the refusal's challenges. The zero value is [ActionGiveUp], so an
// Advice nobody filled in never makes a client retry.
type Action uint8

// Actions. Each retry they advise is a single one: a client that is refused
// again after following the advice gives up.
const (
	// ActionGiveUp: nothing the client can change makes the request pass:
	// the refusal has no DPoP or Bearer challenge (a 403 of a policy, a 503),
	// its error is invalid_request (RFC 6750 §3.1: the request is malformed)
	// or unknown, an insufficient_scope challenge names no scope, or the
	// challenge is malformed (then with an error matching
	// [ErrMalformedChallenge]). Report the refusal.
	ActionGiveUp Action = iota
	// ActionRetryWithNonce: the server requires a DPoP nonce (RFC 9449 §8
	// at an authorization server, §9 at a resource server, error
	// use_dpop_nonce): send the request once more with a fresh proof that
	// carries [Advice.Nonce]. [Transport] and the dpopgrpc interceptors do
	// this by themselves.
	ActionRetryWithNonce
	// ActionStepUp: the authentication behind the token is not strong or
	// recent enough (RFC 9470 §3, error insufficient_user_authentication):
	// have the user authenticate again at the authorization server, asking
	// for one of [Advice.ACRValues] and, when [Advice.HasMaxAge], an
	// authentication no older than [Advice.MaxAge] (RFC 9470 §4, the
	// acr_values and max_age request parameters), then retry with the new
	// token.
	ActionStepUp
	// ActionNewToken: the access token is not valid (RFC 6750 §3.1
	// invalid_token: expired, revoked, not bound to the proof's key, or
	// presented in the wrong scheme): get a fresh token for [Advice.Scheme]
	// and retry once.
	ActionNewToken
	// ActionAuthenticate: the request carried no credentials the server
	// looks at (RFC 6750 §3.1: a challenge with no error code): send an
	// access token in [Advice.Scheme], with a proof signed with one of
	// [Advice.Algs] for DPoP.
	ActionAuthenticate
	// ActionRequestScopes: the token lacks scopes (RFC 6750 §3.1
	// insufficient_scope): get a token carrying [Advice.Scopes], if the
	// client may ask for them, and retry; otherwise give up.
	ActionRequestScopes
	// ActionNewProof: the DPoP proof was refused (RFC 9449 §7.1 and §5,
	// invalid_dpop_proof: replayed, stale, signed with an algorithm the
	// server refuses): retry once with a fresh proof, signed with one of
	// [Advice.Algs] when the server lists them.
	ActionNewProof
)

// String names the action in snake case: "give_up", "retry_with_nonce",
// "step_up", "new_token", "authenticate", "request_scopes", "new_proof";
// "unknown" otherwise.
func (a Action) String() string {
	switch a {
	case ActionGiveUp:
		return "give_up"
	case ActionRetryWithNonce:
		return "retry_with_nonce"
	case ActionStepUp:
		return "step_up"
	case ActionNewToken:
		return "new_token"
	case ActionAuthenticate:
		return "authenticate"
	case ActionRequestScopes:
		return "request_scopes"
	case ActionNewProof:
		return "new_proof"
	}
	return "unknown"
}

// Advice is what a client must do about a refused request, and what the
// server's challenge says it needs, as [Advise], [AdviseHTTP] and
// dpopgrpc.Advise read it. Fields the challenge does not carry are empty.
// Nothing in it is secret: a server sends all of it in clear.
type Advice struct {
	// Action is what to do.
	Action Action
	// Scheme is the scheme of the challenge acted on, "DPoP" or "Bearer"
	// (canonical case); "" when there is none, or for an authorization
	// server's error response (RFC 6749 §5.2), which has no scheme.
	Scheme string
	// Error and Description are the challenge's error and
	// error_description (RFC 6750 §3).
	Error, Description string
	// Nonce is the server's DPoP nonce (the DPoP-Nonce header, the
	// "dpop-nonce" metadata of gRPC) when it sent one valid nonce (RFC 9449
	// §8: 1*NQCHAR); the next proof carries it, whatever the Action.
	Nonce string
	// ACRValues are the acr_values of a step-up challenge (RFC 9470 §3), in
	// the server's order of preference.
	ACRValues []string
	// MaxAge is the max_age of a step-up challenge (RFC 9470 §3), when
	// HasMaxAge: the authentication must be at most this old. Zero with
	// HasMaxAge means the user must authenticate now.
	MaxAge    time.Duration
	HasMaxAge bool
	// Scopes are the challenge's scope values (RFC 6750 §3), the scopes to
	// ask for after insufficient_scope.
	Scopes []string
	// Algs are the JWS algorithms the server accepts for DPoP proofs (RFC
	// 9449 §7.1, the algs parameter).
	Algs []string
}

// Error codes of the challenges (RFC 6750 §3.1, RFC 9449 §7.1 and §12.2,
// RFC 9470 §3).
const (
	codeInvalidRequest    = "invalid_request"
	codeInvalidToken      = "invalid_token"
	codeInsufficientScope = "insufficient_scope"
	codeStepUp            = "insufficient_user_authentication"
	codeUseNonce          = "use_dpop_nonce"
	codeInvalidProof      = "invalid_dpop_proof"
)

// maxNonceBody bounds how much of a 400 response is read for an
// authorization server's error response.
const maxNonceBody = 4 << 10

// Advise says what a client must do about a refusal that carried the
// WWW-Authenticate values challenges and the DPoP nonce values nonces, to
// a request the client sent with the authorization scheme scheme ("DPoP",
// "Bearer", or "" when it sent none or does not know). It is the decision
// behind [AdviseHTTP] and dpopgrpc.Advise, for a transport of one's own.
//
// Only the DPoP and Bearer challenges count; others (Basic, …) are
// skipped. When several remain, the one acted on is, in this order of
// precedence:
//  1. one with an error code, over one without (which only says how to
//     authenticate);
//  2. one of the scheme the client used, so that a DPoP client is not told
//     to fetch a Bearer token it has no use for, nor the reverse;
//  3. a DPoP one, over Bearer (the sender-constrained scheme);
//  4. the first, in order.
//
// Every DPoP and Bearer challenge is checked, not only the one acted on:
// error and error_description within RFC 6750 §3's characters; scope and
// algs space-delimited lists of RFC 6749 §3.3 scope-tokens; acr_values a
// list of such tokens separated by single spaces (RFC 9470 §3); max_age a
// non-negative integer number of seconds (RFC 9470 §3). The nonce must be
// one valid value (RFC 9449 §8), repeated values being equal; a nonce that
// is not is ignored, unless the advice is [ActionRetryWithNonce], which
// then fails. A refusal outside these rules is [ActionGiveUp] with an error
// matching [ErrMalformedChallenge]. No challenge at all is [ActionGiveUp]
// with no error. The error codes use_dpop_nonce and invalid_dpop_proof
// count only in DPoP challenges (RFC 9449 §7.1): a Bearer client cannot
// send a nonce or a proof.
func Advise(scheme string, challenges, nonces []string) (Advice, error) {
	var cs []Challenge
	for _, v := range challenges {
		c, err := ParseChallenges(v)
		if err != nil {
			return Advice{}, err
		}
		cs = append(cs, c...)
	}
	return advise(scheme, cs, nonces)
}

// AdviseHTTP says what a client must do about resp, the response to a
// request it sent; see [Advise] for the rules. Only 400, 401 and 403
// responses are read, their WWW-Authenticate values and DPoP-Nonce header;
// any other status is [ActionGiveUp] with no error. The scheme the client
// used is read from resp.Request's Authorization header. A 400 with no
// challenge carrying an error is read as an authorization server's error
// response (RFC 6749 §5.2, RFC 9449 §8): at most 4 KiB of its body, which
// is put back so that the caller can still read all of it; its error
// use_dpop_nonce and invalid_dpop_proof are advised as in a DPoP challenge,
// and any other as [ActionGiveUp] with [Advice.Error] set.
func AdviseHTTP(resp *http.Response) (Advice, error) {
	if resp == nil {
		return Advice{}, nil
	}
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
	default:
		return Advice{}, nil
	}
	scheme := ""
	if resp.Request != nil {
		scheme, _, _ = strings.Cut(resp.Request.Header.Get("Authorization"), " ")
	}
	nonces := resp.Header.Values("DPoP-Nonce")
	adv, err := Advise(scheme, resp.Header.Values("WWW-Authenticate"), nonces)
	if err != nil || adv.Error != "" || resp.StatusCode != http.StatusBadRequest || resp.Body == nil {
		return adv, err
	}
	code, desc, ok := oauthError(resp)
	if !ok {
		return adv, nil
	}
	return fromChallenge(Challenge{Params: map[string]string{"error": code, "error_description": desc}}, true, nonces)
}

// oauthError reads the error and error_description of an RFC 6749 §5.2
// error response in resp's body, and puts back what it read.
func oauthError(resp *http.Response) (code, desc string, ok bool) {
	buf, err := io.ReadAll(io.LimitReader(resp.Body, maxNonceBody))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), resp.Body), resp.Body}
	if err != nil {
		return "", "", false
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(buf, &e) != nil || e.Error == "" {
		return "", "", false
	}
	return e.Error, e.Description, true
}

// advise is [Advise] over parsed challenges.
func advise(scheme string, cs []Challenge, nonces []string) (Advice, error) {
	best, bestRank := Advice{}, -1
	for _, c := range cs {
		dpopScheme := strings.EqualFold(c.Scheme, "DPoP")
		if !dpopScheme && !strings.EqualFold(c.Scheme, "Bearer") {
			continue
		}
		adv, err := fromChallenge(c, dpopScheme, nonces)
		if err != nil {
			return Advice{}, err
		}
		rank := 0
		if adv.Error != "" {
			rank += 4
		}
		if strings.EqualFold(c.Scheme, scheme) {
			rank += 2
		}
		if dpopScheme {
			rank++
		}
		if rank > bestRank {
			best, bestRank = adv, rank
		}
	}
	return best, nil
}

// fromChallenge is the advice of the one challenge c, in the DPoP scheme
// when dpopScheme, with the nonce values nonces.
func fromChallenge(c Challenge, dpopScheme bool, nonces []string) (Advice, error) {
	adv := Advice{Scheme: canonicalScheme(c.Scheme)}
	p := c.Params
	var err error
	if adv.Error, err = errorText(p, "error"); err != nil {
		return Advice{}, err
	}
	if adv.Description, err = errorText(p, "error_description"); err != nil {
		return Advice{}, err
	}
	if adv.Scopes, err = tokenList(p, "scope", false); err != nil {
		return Advice{}, err
	}
	if adv.Algs, err = tokenList(p, "algs", false); err != nil {
		return Advice{}, err
	}
	if adv.ACRValues, err = tokenList(p, "acr_values", true); err != nil {
		return Advice{}, err
	}
	if v, ok := p["max_age"]; ok {
		if adv.MaxAge, err = maxAge(v); err != nil {
			return Advice{}, err
		}
		adv.HasMaxAge = true
	}
	adv.Nonce = nonceOf(nonces)

	switch {
	case c.Token68 != "":
		return Advice{}, fmt.Errorf("%w: a %s challenge with a token68", ErrMalformedChallenge, adv.Scheme)
	case adv.Error == "":
		adv.Action = ActionAuthenticate
	case adv.Error == codeInvalidToken:
		adv.Action = ActionNewToken
	case adv.Error == codeStepUp:
		adv.Action = ActionStepUp
	case adv.Error == codeInsufficientScope && len(adv.Scopes) > 0:
		adv.Action = ActionRequestScopes
	case adv.Error == codeUseNonce && dpopScheme:
		if adv.Nonce == "" {
			return Advice{}, fmt.Errorf("%w: use_dpop_nonce without one valid DPoP nonce", ErrMalformedChallenge)
		}
		adv.Action = ActionRetryWithNonce
	case adv.Error == codeInvalidProof && dpopScheme:
		adv.Action = ActionNewProof
	}
	return adv, nil
}

// canonicalScheme is "DPoP" or "Bearer" for either in any case, else "".
func canonicalScheme(s string) string {
	switch {
	case strings.EqualFold(s, "DPoP"):
		return "DPoP"
	case strings.EqualFold(s, "Bearer"):
		return "Bearer"
	}
	return ""
}

// nonceOf is the one valid nonce of nonces, or "" when there is none, it is
// not valid, or the values differ.
func nonceOf(nonces []string) string {
	if len(nonces) == 0 || !dpopnonce.Valid(nonces[0]) {
		return ""
	}
	for _, n := range nonces[1:] {
		if n != nonces[0] {
			return ""
		}
	}
	return nonces[0]
}

// errorText is the parameter name of p, which must be made of the
// characters RFC 6750 §3 allows in error and error_description:
// %x20-21 / %x23-5B / %x5D-7E.
func errorText(p map[string]string, name string) (string, error) {
	v, ok := p[name]
	if !ok {
		return "", nil
	}
	if v == "" && name == "error" {
		return "", fmt.Errorf("%w: empty %s", ErrMalformedChallenge, name)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return "", fmt.Errorf("%w: %s has a character outside RFC 6750 §3", ErrMalformedChallenge, name)
		}
	}
	return v, nil
}

// tokenList is the parameter name of p split into its tokens, each 1*NQCHAR
// (RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E). Unless strict,
// the tokens are space-delimited as RFC 6750 §3 reads scope (runs of
// spaces, leading or trailing ones, are allowed); when strict, exactly one
// space separates two tokens, as RFC 9470 §3 writes acr_values. A present
// but empty list is malformed.
func tokenList(p map[string]string, name string, strict bool) ([]string, error) {
	v, ok := p[name]
	if !ok {
		return nil, nil
	}
	out := strings.Split(v, " ")
	if !strict {
		out = slices.DeleteFunc(out, func(t string) bool { return t == "" })
	}
	if len(out) == 0 || v == "" {
		return nil, fmt.Errorf("%w: empty %s", ErrMalformedChallenge, name)
	}
	for _, t := range out {
		if t == "" {
			return nil, fmt.Errorf("%w: %s is not separated by single spaces", ErrMalformedChallenge, name)
		}
		for i := 0; i < len(t); i++ {
			if c := t[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				return nil, fmt.Errorf("%w: %s has a character outside RFC 6749 §3.3", ErrMalformedChallenge, name)
			}
		}
	}
	return out, nil
}

// maxAge parses an RFC 9470 §3 max_age: a non-negative integer number of
// seconds, digits only, that fits a time.Duration.
func maxAge(v string) (time.Duration, error) {
	bad := fmt.Errorf("%w: max_age is not a non-negative integer number of seconds", ErrMalformedChallenge)
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return 0, bad
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > uint64(math.MaxInt64/int64(time.Second)) {
		return 0, bad
	}
	return time.Duration(n) * time.Second, nil
}
