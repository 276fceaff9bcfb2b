package dpop_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/tokens/dpop"
)

// rfcNonce is the DPoP-Nonce of the examples of RFC 9449 §8 and §9
// (verbatim from both).
const rfcNonce = "eyJ7S_zG.eyJH0-Z.HX4w-7v"

// refusal is an HTTP response as a client receives it.
type refusal struct {
	status int
	// auth is the Authorization header the client sent, "" for none.
	auth       string
	challenges []string
	nonces     []string
	body       string
}

func (r refusal) response() *http.Response {
	h := http.Header{}
	for _, c := range r.challenges {
		h.Add("WWW-Authenticate", c)
	}
	for _, n := range r.nonces {
		h.Add("DPoP-Nonce", n)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://resource.example.org/protectedresource", nil)
	if r.auth != "" {
		req.Header.Set("Authorization", r.auth)
	}
	return &http.Response{StatusCode: r.status, Header: h, Request: req, Body: io.NopCloser(strings.NewReader(r.body))}
}

// TestAdviseRFCExamples: the challenges of the RFCs' examples, verbatim
// (folded lines joined by one space), each advise what the RFC says the
// client does.
func TestAdviseRFCExamples(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   refusal
		want dpop.Advice
	}{
		{
			// Verbatim from RFC 6750 §3: a request without credentials.
			name: "RFC 6750 §3 no credentials",
			in:   refusal{status: 401, challenges: []string{`Bearer realm="example"`}},
			want: dpop.Advice{Action: dpop.ActionAuthenticate, Scheme: "Bearer"},
		},
		{
			// Verbatim from RFC 6750 §3 (folded lines joined): an expired
			// token. The token sent is the one of RFC 6750 §2.1.
			name: "RFC 6750 §3 expired token",
			in: refusal{status: 401, auth: "Bearer mF_9.B5f-4.1JqM", challenges: []string{
				`Bearer realm="example", error="invalid_token", error_description="The access token expired"`,
			}},
			want: dpop.Advice{Action: dpop.ActionNewToken, Scheme: "Bearer", Error: "invalid_token", Description: "The access token expired"},
		},
		{
			// RFC 6750 §3.1 insufficient_scope (403), built with the first
			// scope value of RFC 6750 §3, verbatim; the challenge itself is
			// not an RFC example.
			name: "RFC 6750 §3.1 insufficient_scope, OpenID scopes",
			in: refusal{status: 403, auth: "Bearer mF_9.B5f-4.1JqM", challenges: []string{
				`Bearer realm="example", error="insufficient_scope", scope="openid profile email"`,
			}},
			want: dpop.Advice{Action: dpop.ActionRequestScopes, Scheme: "Bearer", Error: "insufficient_scope", Scopes: []string{"openid", "profile", "email"}},
		},
		{
			// RFC 6750 §3.1 insufficient_scope (403), built with the second
			// scope value of RFC 6750 §3, verbatim; the challenge itself is
			// not an RFC example.
			name: "RFC 6750 §3.1 insufficient_scope, OMAP scope",
			in: refusal{status: 403, challenges: []string{
				`Bearer error="insufficient_scope", scope="urn:example:channel=HBO&urn:example:rating=G,PG-13"`,
			}},
			want: dpop.Advice{Action: dpop.ActionRequestScopes, Scheme: "Bearer", Error: "insufficient_scope", Scopes: []string{"urn:example:channel=HBO&urn:example:rating=G,PG-13"}},
		},
		{
			// Verbatim from RFC 9449 §7.1: a request without a token to a
			// DPoP resource.
			name: "RFC 9449 §7.1 no token",
			in:   refusal{status: 401, challenges: []string{`DPoP algs="ES256 PS256"`}},
			want: dpop.Advice{Action: dpop.ActionAuthenticate, Scheme: "DPoP", Algs: []string{"ES256", "PS256"}},
		},
		{
			// Verbatim from RFC 9449 §7.1 (the '\' line wrapping of RFC 8792
			// undone): a token whose binding does not match the proof. The
			// token sent is the one of RFC 9449 §7.1.
			name: "RFC 9449 §7.1 invalid_token",
			in: refusal{status: 401, auth: "DPoP Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU", challenges: []string{
				`DPoP error="invalid_token", error_description="Invalid DPoP key binding", algs="ES256"`,
			}},
			want: dpop.Advice{Action: dpop.ActionNewToken, Scheme: "DPoP", Error: "invalid_token", Description: "Invalid DPoP key binding", Algs: []string{"ES256"}},
		},
		{
			// Verbatim from RFC 9449 §8 (the nonce header and the body, its
			// indentation one space less): the authorization server's nonce,
			// in an RFC 6749 §5.2 error response.
			name: "RFC 9449 §8 authorization server nonce",
			in: refusal{status: 400, nonces: []string{rfcNonce}, body: `{
 "error": "use_dpop_nonce",
 "error_description":
  "Authorization server requires nonce in DPoP proof"
}`},
			want: dpop.Advice{Action: dpop.ActionRetryWithNonce, Error: "use_dpop_nonce", Description: "Authorization server requires nonce in DPoP proof", Nonce: rfcNonce},
		},
		{
			// Verbatim from RFC 9449 §9 (the '\' line wrapping of RFC 8792
			// undone): the resource server's nonce.
			name: "RFC 9449 §9 resource server nonce",
			in: refusal{status: 401, auth: "DPoP Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU", nonces: []string{rfcNonce}, challenges: []string{
				`DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`,
			}},
			want: dpop.Advice{Action: dpop.ActionRetryWithNonce, Scheme: "DPoP", Error: "use_dpop_nonce", Description: "Resource server requires nonce in DPoP proof", Nonce: rfcNonce},
		},
		{
			// Verbatim from RFC 9470 §3, the figure "Authentication
			// Requirements Challenge indicating acr_values" (folded lines
			// joined): a different authentication level is required.
			name: "RFC 9470 §3 acr_values",
			in: refusal{status: 401, auth: "Bearer x", challenges: []string{
				`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="myACR"`,
			}},
			want: dpop.Advice{Action: dpop.ActionStepUp, Scheme: "Bearer", Error: "insufficient_user_authentication", Description: "A different authentication level is required", ACRValues: []string{"myACR"}},
		},
		{
			// Verbatim from RFC 9470 §3, the figure "Authentication
			// Requirements Challenge indicating max_age" (folded lines
			// joined): a more recent authentication is required.
			name: "RFC 9470 §3 max_age",
			in: refusal{status: 401, auth: "Bearer x", challenges: []string{
				`Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="5"`,
			}},
			want: dpop.Advice{Action: dpop.ActionStepUp, Scheme: "Bearer", Error: "insufficient_user_authentication", Description: "More recent authentication is required", MaxAge: 5 * time.Second, HasMaxAge: true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := tc.in.response()
			got, err := dpop.AdviseHTTP(resp)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.in.body, string(body), "the body is left for the caller")
		})
	}
}

// TestAdvise: every action, the precedence among challenges, and the
// refusals that are not worth a retry.
func TestAdvise(t *testing.T) {
	const stepUp = `error="insufficient_user_authentication"`
	for _, tc := range []struct {
		name string
		in   refusal
		want dpop.Advice
	}{
		{
			name: "step-up in the DPoP scheme with a nonce, acr_values and max_age",
			in: refusal{status: 401, auth: "DPoP t", nonces: []string{"n-1"}, challenges: []string{
				`DPoP realm="payments", ` + stepUp + `, acr_values="urn:shop:mfa urn:shop:phr", max_age=0, algs="ES256"`,
			}},
			want: dpop.Advice{Action: dpop.ActionStepUp, Scheme: "DPoP", Error: "insufficient_user_authentication", Nonce: "n-1",
				ACRValues: []string{"urn:shop:mfa", "urn:shop:phr"}, HasMaxAge: true, Algs: []string{"ES256"}},
		},
		{
			name: "step-up with neither acr_values nor max_age",
			in:   refusal{status: 401, challenges: []string{`Bearer ` + stepUp}},
			want: dpop.Advice{Action: dpop.ActionStepUp, Scheme: "Bearer", Error: "insufficient_user_authentication"},
		},
		{
			name: "max_age with leading zeros",
			in:   refusal{status: 401, challenges: []string{`Bearer ` + stepUp + `, max_age="0300"`}},
			want: dpop.Advice{Action: dpop.ActionStepUp, Scheme: "Bearer", Error: "insufficient_user_authentication", MaxAge: 5 * time.Minute, HasMaxAge: true},
		},
		{
			name: "invalid_dpop_proof",
			in:   refusal{status: 401, challenges: []string{`DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"`}},
			want: dpop.Advice{Action: dpop.ActionNewProof, Scheme: "DPoP", Error: "invalid_dpop_proof", Algs: []string{"ES256", "EdDSA"}},
		},
		{
			name: "invalid_request",
			in:   refusal{status: 400, challenges: []string{`DPoP error="invalid_request"`}},
			want: dpop.Advice{Scheme: "DPoP", Error: "invalid_request"},
		},
		{
			name: "insufficient_scope without scope",
			in:   refusal{status: 403, challenges: []string{`Bearer error="insufficient_scope"`}},
			want: dpop.Advice{Scheme: "Bearer", Error: "insufficient_scope"},
		},
		{
			name: "unknown error",
			in:   refusal{status: 401, challenges: []string{`Bearer error="unheard_of"`}},
			want: dpop.Advice{Scheme: "Bearer", Error: "unheard_of"},
		},
		{
			name: "use_dpop_nonce in the Bearer scheme",
			in:   refusal{status: 401, nonces: []string{"n"}, challenges: []string{`Bearer error="use_dpop_nonce"`}},
			want: dpop.Advice{Scheme: "Bearer", Error: "use_dpop_nonce", Nonce: "n"},
		},
		{
			name: "invalid_dpop_proof in the Bearer scheme",
			in:   refusal{status: 401, challenges: []string{`Bearer error="invalid_dpop_proof"`}},
			want: dpop.Advice{Scheme: "Bearer", Error: "invalid_dpop_proof"},
		},
		{
			name: "token error value, scheme in another case",
			in:   refusal{status: 401, nonces: []string{"n"}, challenges: []string{`dpop error=use_dpop_nonce`}},
			want: dpop.Advice{Action: dpop.ActionRetryWithNonce, Scheme: "DPoP", Error: "use_dpop_nonce", Nonce: "n"},
		},
		{
			name: "the nonce repeated",
			in:   refusal{status: 401, nonces: []string{"n", "n"}, challenges: []string{`DPoP error="use_dpop_nonce"`}},
			want: dpop.Advice{Action: dpop.ActionRetryWithNonce, Scheme: "DPoP", Error: "use_dpop_nonce", Nonce: "n"},
		},
		{
			name: "a malformed nonce ignored when not needed",
			in:   refusal{status: 401, nonces: []string{"not a nonce"}, challenges: []string{`DPoP error="invalid_token"`}},
			want: dpop.Advice{Action: dpop.ActionNewToken, Scheme: "DPoP", Error: "invalid_token"},
		},
		{
			name: "scope with runs of spaces",
			in:   refusal{status: 403, challenges: []string{`Bearer error="insufficient_scope", scope=" a  b "`}},
			want: dpop.Advice{Action: dpop.ActionRequestScopes, Scheme: "Bearer", Error: "insufficient_scope", Scopes: []string{"a", "b"}},
		},
		// Precedence.
		{
			name: "no token, two schemes offered: DPoP",
			in:   refusal{status: 401, challenges: []string{`Bearer realm="shop"`, `DPoP realm="shop", algs="ES256"`}},
			want: dpop.Advice{Action: dpop.ActionAuthenticate, Scheme: "DPoP", Algs: []string{"ES256"}},
		},
		{
			name: "two schemes offered, the client used Bearer",
			in:   refusal{status: 401, auth: "bearer t", challenges: []string{`DPoP algs="ES256", Bearer realm="shop"`}},
			want: dpop.Advice{Action: dpop.ActionAuthenticate, Scheme: "Bearer"},
		},
		{
			name: "an error beats the scheme used",
			in:   refusal{status: 401, auth: "DPoP t", challenges: []string{`DPoP algs="ES256"`, `Bearer error="invalid_token"`}},
			want: dpop.Advice{Action: dpop.ActionNewToken, Scheme: "Bearer", Error: "invalid_token"},
		},
		{
			name: "two errors, the client used Bearer",
			in:   refusal{status: 401, auth: "Bearer t", challenges: []string{`DPoP error="invalid_dpop_proof", Bearer error="invalid_token"`}},
			want: dpop.Advice{Action: dpop.ActionNewToken, Scheme: "Bearer", Error: "invalid_token"},
		},
		{
			name: "two errors, scheme unknown: DPoP",
			in:   refusal{status: 401, challenges: []string{`Bearer error="invalid_token", DPoP error="invalid_dpop_proof"`}},
			want: dpop.Advice{Action: dpop.ActionNewProof, Scheme: "DPoP", Error: "invalid_dpop_proof"},
		},
		{
			name: "two errors of one scheme: the first",
			in:   refusal{status: 401, auth: "DPoP t", challenges: []string{`DPoP error="invalid_token"`, `DPoP error="invalid_dpop_proof"`}},
			want: dpop.Advice{Action: dpop.ActionNewToken, Scheme: "DPoP", Error: "invalid_token"},
		},
		{
			name: "other schemes skipped",
			in:   refusal{status: 401, challenges: []string{`Basic realm="x", Negotiate abc==, Bearer error="invalid_token"`}},
			want: dpop.Advice{Action: dpop.ActionNewToken, Scheme: "Bearer", Error: "invalid_token"},
		},
		// Nothing to do.
		{name: "other schemes only", in: refusal{status: 401, challenges: []string{`Basic realm="x"`}}},
		{name: "403 without challenge", in: refusal{status: 403}},
		{name: "503 with a challenge", in: refusal{status: 503, challenges: []string{`Bearer error="invalid_token"`}}},
		{name: "200", in: refusal{status: 200, nonces: []string{"n"}}},
		// Authorization server error responses (RFC 6749 §5.2).
		{
			name: "authorization server invalid_dpop_proof",
			in:   refusal{status: 400, body: `{"error":"invalid_dpop_proof"}`},
			want: dpop.Advice{Action: dpop.ActionNewProof, Error: "invalid_dpop_proof"},
		},
		{
			name: "authorization server invalid_grant",
			in:   refusal{status: 400, nonces: []string{"n"}, body: `{"error":"invalid_grant","error_description":"expired"}`},
			want: dpop.Advice{Error: "invalid_grant", Description: "expired", Nonce: "n"},
		},
		{name: "400 with a body not JSON", in: refusal{status: 400, body: `use_dpop_nonce`}},
		{name: "401 body not read", in: refusal{status: 401, nonces: []string{"n"}, body: `{"error":"use_dpop_nonce"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := tc.in.response()
			got, err := dpop.AdviseHTTP(resp)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.in.body, string(body), "the body is left for the caller")
		})
	}
}

// TestAdviseMalformed: a refusal outside the RFCs' rules is given up on,
// with an error matching ErrMalformedChallenge, never a best guess.
func TestAdviseMalformed(t *testing.T) {
	const stepUp = `Bearer error="insufficient_user_authentication", `
	for _, tc := range []struct {
		name string
		in   refusal
	}{
		{"unterminated quote", refusal{challenges: []string{`DPoP error="use_dpop_nonce`}}},
		{"malformed value beside a good one", refusal{nonces: []string{"n"}, challenges: []string{`DPoP error="use_dpop_nonce`, `DPoP error="use_dpop_nonce"`}}},
		{"use_dpop_nonce without a nonce", refusal{challenges: []string{`DPoP error="use_dpop_nonce"`}}},
		{"use_dpop_nonce with two nonces", refusal{nonces: []string{"a", "b"}, challenges: []string{`DPoP error="use_dpop_nonce"`}}},
		{"use_dpop_nonce with an invalid nonce", refusal{nonces: []string{`a"b`}, challenges: []string{`DPoP error="use_dpop_nonce"`}}},
		{"use_dpop_nonce with an empty nonce", refusal{nonces: []string{""}, challenges: []string{`DPoP error="use_dpop_nonce"`}}},
		{"authorization server use_dpop_nonce without a nonce", refusal{status: 400, body: `{"error":"use_dpop_nonce"}`}},
		{"acr_values with two spaces", refusal{challenges: []string{stepUp + `acr_values="a  b"`}}},
		{"acr_values with a leading space", refusal{challenges: []string{stepUp + `acr_values=" a"`}}},
		{"acr_values with a trailing space", refusal{challenges: []string{stepUp + `acr_values="a "`}}},
		{"acr_values with a tab", refusal{challenges: []string{stepUp + "acr_values=\"a\tb\""}}},
		{"acr_values empty", refusal{challenges: []string{stepUp + `acr_values=""`}}},
		{"acr_values with a quote", refusal{challenges: []string{stepUp + `acr_values="a\"b"`}}},
		{"max_age negative", refusal{challenges: []string{stepUp + `max_age="-1"`}}},
		{"max_age with a sign", refusal{challenges: []string{stepUp + `max_age="+5"`}}},
		{"max_age with a unit", refusal{challenges: []string{stepUp + `max_age="5s"`}}},
		{"max_age fractional", refusal{challenges: []string{stepUp + `max_age="1.5"`}}},
		{"max_age empty", refusal{challenges: []string{stepUp + `max_age=""`}}},
		{"max_age too large", refusal{challenges: []string{stepUp + `max_age="9223372037"`}}},
		{"max_age overflows", refusal{challenges: []string{stepUp + `max_age="99999999999999999999"`}}},
		{"scope empty", refusal{status: 403, challenges: []string{`Bearer error="insufficient_scope", scope=""`}}},
		{"scope of spaces", refusal{status: 403, challenges: []string{`Bearer error="insufficient_scope", scope="  "`}}},
		{"algs with a non-ASCII byte", refusal{challenges: []string{"DPoP algs=\"ES256 \xe9\""}}},
		{"error empty", refusal{challenges: []string{`Bearer error=""`}}},
		{"error with a quote", refusal{challenges: []string{`Bearer error="a\"b"`}}},
		{"error_description with a backslash", refusal{challenges: []string{`Bearer error="invalid_token", error_description="a\\b"`}}},
		{"error_description with a non-ASCII byte", refusal{challenges: []string{"Bearer error=\"invalid_token\", error_description=\"caf\xc3\xa9\""}}},
		{"token68", refusal{challenges: []string{`DPoP abc==`}}},
		{"parameter twice", refusal{challenges: []string{`Bearer error="invalid_token", error="insufficient_scope"`}}},
		{"malformed Bearer beside a good DPoP", refusal{challenges: []string{`DPoP error="invalid_token", Bearer max_age=x`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.status == 0 {
				tc.in.status = 401
			}
			got, err := dpop.AdviseHTTP(tc.in.response())
			require.ErrorIs(t, err, dpop.ErrMalformedChallenge)
			assert.Equal(t, dpop.Advice{}, got)
			assert.Equal(t, dpop.ActionGiveUp, got.Action)
			assert.True(t, strings.HasPrefix(err.Error(), "dpop: "), "the error names its package: %v", err)
		})
	}
}

// TestAdviseNil: no response and an unread body are nothing to act on.
func TestAdviseNil(t *testing.T) {
	got, err := dpop.AdviseHTTP(nil)
	require.NoError(t, err)
	assert.Equal(t, dpop.ActionGiveUp, got.Action)

	resp := refusal{status: 400}.response()
	resp.Body = io.NopCloser(iotest{})
	got, err = dpop.AdviseHTTP(resp)
	require.NoError(t, err)
	assert.Equal(t, dpop.Advice{}, got)
}

// iotest is a body whose reads fail.
type iotest struct{}

func (iotest) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestAdviseLargeBody: an authorization server's body is read up to 4 KiB
// and given back whole.
func TestAdviseLargeBody(t *testing.T) {
	body := `{"error":"invalid_grant","error_description":"` + strings.Repeat("x", 8<<10) + `"}`
	resp := refusal{status: 400, body: body}.response()
	got, err := dpop.AdviseHTTP(resp)
	require.NoError(t, err)
	assert.Equal(t, dpop.Advice{}, got, "a body beyond 4 KiB is not parsed")
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, body, string(b))
}

// TestAdviseMatchesAdviseHTTP: Advise over the header values is what
// AdviseHTTP says of the response.
func TestAdviseMatchesAdviseHTTP(t *testing.T) {
	challenges := []string{`Bearer realm="shop"`, `DPoP error="use_dpop_nonce", algs="ES256"`}
	got, err := dpop.Advise("DPoP", challenges, []string{"n"})
	require.NoError(t, err)
	viaHTTP, err := dpop.AdviseHTTP(refusal{status: 401, auth: "DPoP t", challenges: challenges, nonces: []string{"n"}}.response())
	require.NoError(t, err)
	assert.Equal(t, viaHTTP, got)
	assert.Equal(t, dpop.ActionRetryWithNonce, got.Action)
}

func TestActionString(t *testing.T) {
	for a, want := range map[dpop.Action]string{
		dpop.ActionGiveUp: "give_up", dpop.ActionRetryWithNonce: "retry_with_nonce", dpop.ActionStepUp: "step_up",
		dpop.ActionNewToken: "new_token", dpop.ActionAuthenticate: "authenticate", dpop.ActionRequestScopes: "request_scopes",
		dpop.ActionNewProof: "new_proof", 200: "unknown",
	} {
		assert.Equal(t, want, a.String())
		assert.Equal(t, want, fmt.Sprint(a))
	}
}

// TestAdviseHTTPThroughTransport: over real HTTP, a resource server that
// requires nonces answers a Transport's request with the nonce challenge,
// which the Transport retries by itself, then with the RFC 9470 §3 step-up
// challenge, which it returns: AdviseHTTP reads the response the client
// gets, with the scheme the Transport used and the server's latest nonce.
func TestAdviseHTTPThroughTransport(t *testing.T) {
	r := dtNewRig(t)
	nonces, err := dpop.NewNonces([]byte("a 32-byte nonce secret for tests"), dpop.WithNonceClock(dtClock(dtNow)))
	require.NoError(t, err)
	srv := dtNewServer(t, func(origin string) func(*dtServer, http.ResponseWriter, *http.Request) {
		rv := r.verifier(t, []dpop.VerifierOption{dpop.WithNonces(nonces)}, []dpop.RequestOption{dpop.WithExternalURL(origin)})
		return func(s *dtServer, w http.ResponseWriter, req *http.Request) {
			_, err := rv.Verify(req.Context(), req)
			s.record(dtHit{err: err})
			w.Header().Set("DPoP-Nonce", nonces.Current())
			var ne *dpop.NonceError
			if errors.As(err, &ne) {
				w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`)
			} else {
				w.Header().Set("WWW-Authenticate", `DPoP error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="myACR", max_age="5", algs="ES256"`)
			}
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	client, _ := dtClient(t, r, nil)
	resp, err := client.Get(srv.URL + "/payments")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Len(t, srv.seen(), 2, "the nonce challenge was retried, the step-up was not")
	assert.ErrorIs(t, srv.seen()[0].err, dpop.ErrUseDPoPNonce)
	scheme, _, _ := strings.Cut(resp.Request.Header.Get("Authorization"), " ")
	assert.Equal(t, "DPoP", scheme, "resp.Request tells AdviseHTTP the scheme the Transport used")

	adv, err := dpop.AdviseHTTP(resp)
	require.NoError(t, err)
	assert.Equal(t, dpop.Advice{Action: dpop.ActionStepUp, Scheme: "DPoP", Error: "insufficient_user_authentication",
		Description: "A different authentication level is required", Nonce: nonces.Current(),
		ACRValues: []string{"myACR"}, MaxAge: 5 * time.Second, HasMaxAge: true, Algs: []string{"ES256"}}, adv)
}
