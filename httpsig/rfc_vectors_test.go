package httpsig_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/httpsig"
)

// The signatures of RFC 9421 Appendix B.2, B.3, B.4 and §2.4.
const (
	sigB21 = "d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q=="
	sigB22 = "LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjvuJyE5qH7KT8UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SARYhpTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4jY3I5rSV2DSBVkSFsURIjYErOs0tFTQosMTAoxk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw=="
	sigB23 = "bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA=="
	sigB24 = "wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw=="
	sigB25 = "pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8="
	sigB26 = "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="
	sigB3  = "xVMHVpawaAC/0SbHrKRs9i8I3eOs5RtTMGCWXm/9nvZzoHsIg6Mce9315T6xoklyy0yzhD9ah4JHRwMLOgmizw=="
	sigB4  = "ZT1kooQsEHpZ0I1IjCqtQppOmIqlJPeo7DHR3SoMn0s5JZ1eRGS0A+vyYP9t/LXlh5QMFFQ6cpLt2m0pmj3NDA=="
	sig24  = "dMT/A/76ehrdBTD/2Xx8QuKV6FoyzEP/I9hdzKN8LQJLNgzU4W767HK05rx1i8meNQQgQPgQp8wq2ive3tV5Ag=="

	// The Client-Cert field of B.3.
	clientCertB3 = ":MIIBqDCCAU6gAwIBAgIBBzAKBggqhkjOPQQDAjA6MRswGQYDVQQKDBJMZXQncyBBdXRoZW50aWNhdGUxGzAZBgNVBAMMEkxBIEludGVybWVkaWF0ZSBDQTAeFw0yMDAxMTQyMjU1MzNaFw0yMTAxMjMyMjU1MzNaMA0xCzAJBgNVBAMMAkJDMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8YnXXfaUgmnMtOXU/IncWalRhebrXmckC8vdgJ1p5Be5F/3YC8OthxM4+k1M6aEAEFcGzkJiNy6J84y7uzo9M6NyMHAwCQYDVR0TBAIwADAfBgNVHSMEGDAWgBRm3WjLa38lbEYCuiCPct0ZaSED2DAOBgNVHQ8BAf8EBAMCBsAwEwYDVR0lBAwwCgYIKwYBBQUHAwIwHQYDVR0RAQH/BBMwEYEPYmRjQGV4YW1wbGUuY29tMAoGCCqGSM49BAMCA0gAMEUCIBHda/r1vaL6G3VliL4/Di6YK0Q6bMjeSkC3dFCOOB8TAiEAx/kHSB4urmiZ0NX5r5XarmPk0wmuydBVoU4hBVZ1yhk=:"
)

// B.2 vectors: each published signature verifies with ztkit's verifier.
func TestRFC9421AppendixB2Verify(t *testing.T) {
	keys := loadRFCKeys(t)
	tests := []struct {
		name, input, sig string
		required         []string
		params           []string
		response         bool
	}{
		{
			name:  "B.2.1 minimal, rsa-pss-sha512",
			input: `sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"`,
			sig:   sigB21, params: []string{"nonce", "keyid"},
		},
		{
			name:     "B.2.2 selective, rsa-pss-sha512",
			input:    `sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"`,
			sig:      sigB22,
			required: []string{`"@authority"`, `"content-digest"`, `"@query-param";name="Pet"`},
			params:   []string{"tag"},
		},
		{
			name:     "B.2.3 full coverage, rsa-pss-sha512",
			input:    `sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"`,
			sig:      sigB23,
			required: []string{`"@method"`, `"@path"`, `"@query"`, `"@authority"`, `"content-digest"`},
		},
		{
			name:     "B.2.4 response, ecdsa-p256-sha256",
			input:    `sig-b24=("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"`,
			sig:      sigB24,
			required: []string{`"@status"`, `"content-digest"`},
			response: true,
		},
		{
			name:     "B.2.5 hmac-sha256",
			input:    `sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"`,
			sig:      sigB25,
			required: []string{`"@authority"`},
		},
		{
			name:     "B.2.6 ed25519",
			input:    `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`,
			sig:      sigB26,
			required: []string{`"@method"`, `"@path"`, `"@authority"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			label := tt.input[:7]
			opts := []httpsig.VerifierOption{
				httpsig.WithClock(rfcNow), httpsig.WithLabel(label), httpsig.WithRequiredParams(tt.params...),
			}
			if tt.response {
				opts = append(opts, httpsig.WithRequiredResponseComponents(components(t, tt.required...)...))
			} else {
				opts = append(opts, httpsig.WithRequiredComponents(components(t, tt.required...)...))
			}
			v, err := httpsig.NewVerifier(keys.resolver(t), opts...)
			require.NoError(t, err)

			var got *httpsig.Verified
			if tt.response {
				resp := readResponse(t, rfcResponseText, nil)
				resp.Header.Set("Signature-Input", tt.input)
				resp.Header.Set("Signature", label+"=:"+tt.sig+":")
				got, err = v.VerifyResponse(context.Background(), resp, nil)
			} else {
				r := readRequest(t, rfcRequestText)
				r.Header.Set("Signature-Input", tt.input)
				r.Header.Set("Signature", label+"=:"+tt.sig+":")
				got, err = v.VerifyRequest(context.Background(), r)
				if err == nil && got.DigestChecked {
					body, rerr := io.ReadAll(r.Body)
					require.NoError(t, rerr)
					assert.Equal(t, `{"hello": "world"}`, string(body), "the checked body is given back")
				}
			}
			require.NoError(t, err)
			assert.Equal(t, label, got.Label)
			assert.Equal(t, time.Unix(rfcCreated, 0), got.Created)
		})
	}
}

// B.2.5 (hmac-sha256) and B.2.6 (ed25519) are deterministic: ztkit's Signer
// produces the published fields byte for byte.
func TestRFC9421AppendixB2SignDeterministic(t *testing.T) {
	keys := loadRFCKeys(t)
	hk, err := httpsig.NewHMACSigningKey("test-shared-secret", keys.secret)
	require.NoError(t, err)
	tests := []struct {
		name, label string
		key         *httpsig.SigningKey
		components  []string
		input, sig  string
	}{
		{
			name: "B.2.5 hmac-sha256", label: "sig-b25", key: hk,
			components: []string{`"date"`, `"@authority"`, `"content-type"`},
			input:      `sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"`,
			sig:        "sig-b25=:" + sigB25 + ":",
		},
		{
			name: "B.2.6 ed25519", label: "sig-b26", key: mustSK(t, "test-key-ed25519", httpsig.AlgEd25519, keys.ed),
			components: []string{`"date"`, `"@method"`, `"@path"`, `"@authority"`, `"content-type"`, `"content-length"`},
			input:      `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`,
			sig:        "sig-b26=:" + sigB26 + ":",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := httpsig.NewSigner(tt.key, httpsig.WithLabel(tt.label),
				httpsig.WithComponents(components(t, tt.components...)...),
				httpsig.WithClock(func() time.Time { return time.Unix(rfcCreated, 0) }))
			require.NoError(t, err)
			r := readRequest(t, rfcRequestText)
			require.NoError(t, s.SignRequest(r))
			assert.Equal(t, tt.input, r.Header.Get("Signature-Input"))
			assert.True(t, tt.sig == r.Header.Get("Signature"), "signature differs from the RFC's")
		})
	}
}

// rsa-v1_5-sha256 (B.1.1's key) is deterministic too; RFC 9421 has no
// example signature with it, so ztkit's signature is checked for being the
// same twice and for verifying.
func TestRSAV15Deterministic(t *testing.T) {
	keys := loadRFCKeys(t)
	s, err := httpsig.NewSigner(mustSK(t, "test-key-rsa", httpsig.AlgRSAV15SHA256, keys.rsa),
		httpsig.WithClock(func() time.Time { return time.Unix(rfcCreated, 0) }))
	require.NoError(t, err)
	r1, r2 := readRequest(t, rfcRequestText), readRequest(t, rfcRequestText)
	require.NoError(t, s.SignRequest(r1))
	require.NoError(t, s.SignRequest(r2))
	assert.Equal(t, `sig1=("@method" "@authority" "@path" "@query" "content-digest");created=1618884473;keyid="test-key-rsa"`,
		r1.Header.Get("Signature-Input"))
	assert.Equal(t, r1.Header.Get("Signature"), r2.Header.Get("Signature"))

	v, err := httpsig.NewVerifier(keys.resolver(t), httpsig.WithClock(rfcNow))
	require.NoError(t, err)
	got, err := v.VerifyRequest(context.Background(), r1)
	require.NoError(t, err)
	assert.Equal(t, httpsig.AlgRSAV15SHA256, got.Algorithm)
	assert.True(t, got.DigestChecked)
}

// The randomized algorithms: ztkit signs B.2.2, B.2.3 (rsa-pss-sha512) and
// B.2.4 (ecdsa-p256-sha256) with the RFC's keys and parameters; the
// Signature-Input is the RFC's and the signature verifies.
func TestRFC9421AppendixB2SignRandomized(t *testing.T) {
	keys := loadRFCKeys(t)
	pss := mustSK(t, "test-key-rsa-pss", httpsig.AlgRSAPSSSHA512, keys.rsaPSS)
	p256 := mustSK(t, "test-key-ecc-p256", httpsig.AlgECDSAP256SHA256, keys.p256)
	at := httpsig.WithClock(func() time.Time { return time.Unix(rfcCreated, 0) })
	tests := []struct {
		name, label string
		key         *httpsig.SigningKey
		components  []string
		tag         string
		input       string
		response    bool
	}{
		{
			name: "B.2.2", label: "sig-b22", key: pss, tag: "header-example",
			components: []string{`"@authority"`, `"content-digest"`, `"@query-param";name="Pet"`},
			input:      `sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"`,
		},
		{
			name: "B.2.3", label: "sig-b23", key: pss,
			components: []string{`"date"`, `"@method"`, `"@path"`, `"@query"`, `"@authority"`, `"content-type"`, `"content-digest"`, `"content-length"`},
			input:      `sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"`,
		},
		{
			name: "B.2.4", label: "sig-b24", key: p256, response: true,
			components: []string{`"@status"`, `"content-type"`, `"content-digest"`, `"content-length"`},
			input:      `sig-b24=("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []httpsig.SignerOption{at, httpsig.WithLabel(tt.label), httpsig.WithComponents(components(t, tt.components...)...)}
			if tt.tag != "" {
				opts = append(opts, httpsig.WithTag(tt.tag))
			}
			s, err := httpsig.NewSigner(tt.key, opts...)
			require.NoError(t, err)
			v, err := httpsig.NewVerifier(keys.resolver(t), httpsig.WithClock(rfcNow), httpsig.WithLabel(tt.label),
				httpsig.WithRequiredComponents(), httpsig.WithRequiredResponseComponents())
			require.NoError(t, err)
			if tt.response {
				resp := readResponse(t, rfcResponseText, nil)
				require.NoError(t, s.SignResponse(resp, nil))
				assert.Equal(t, tt.input, resp.Header.Get("Signature-Input"))
				_, err = v.VerifyResponse(context.Background(), resp, nil)
				require.NoError(t, err)
				return
			}
			r := readRequest(t, rfcRequestText)
			require.NoError(t, s.SignRequest(r))
			assert.Equal(t, tt.input, r.Header.Get("Signature-Input"))
			_, err = v.VerifyRequest(context.Background(), r)
			require.NoError(t, err)
		})
	}
}

// RFC 9421 §2.4: a response signature covering components of its request
// ("req"), published with ecdsa-p256-sha256.
func TestRFC9421Section24RequestResponse(t *testing.T) {
	keys := loadRFCKeys(t)
	const respText = "HTTP/1.1 503 Service Unavailable\r\n" +
		"Date: Tue, 20 Apr 2021 02:07:56 GMT\r\n" +
		"Content-Type: application/json\r\n" +
		"Content-Length: 62\r\n" +
		"Content-Digest: sha-512=:0Y6iCBzGg5rZtoXS95Ijz03mslf6KAMCloESHObfwnHJDbkkWWQz6PhhU9kxsTbARtY2PTBOzq24uJFpHsMuAg==:\r\n" +
		"\r\n" +
		`{"busy": true, "message": "Your call is very important to us"}`
	const input = `reqres=("@status" "content-digest" "content-type" "@authority";req "@method";req "@path";req "content-digest";req);created=1618884479;keyid="test-key-ecc-p256"`
	required := components(t, `"@status"`, `"@method";req`, `"@path";req`, `"content-digest";req`)
	v, err := httpsig.NewVerifier(keys.resolver(t), httpsig.WithClock(rfcNow), httpsig.WithRequiredResponseComponents(required...))
	require.NoError(t, err)

	req := readRequest(t, rfcRequestText)
	resp := readResponse(t, respText, req)
	resp.Header.Set("Signature-Input", input)
	resp.Header.Set("Signature", "reqres=:"+sig24+":")
	got, err := v.VerifyResponse(context.Background(), resp, req)
	require.NoError(t, err)
	assert.True(t, got.DigestChecked)

	// Another request: the response is not the answer to it.
	other := readRequest(t, rfcRequestText)
	other.Method = "PUT"
	resp = readResponse(t, respText, other)
	resp.Header.Set("Signature-Input", input)
	resp.Header.Set("Signature", "reqres=:"+sig24+":")
	_, err = v.VerifyResponse(context.Background(), resp, other)
	assert.ErrorIs(t, err, httpsig.ErrInvalid)
}

// RFC 9421 Appendix B.3: a TLS-terminating proxy signs the client
// certificate it saw (ecdsa-p256-sha256).
func TestRFC9421AppendixB3(t *testing.T) {
	keys := loadRFCKeys(t)
	text := "POST /foo?param=Value&Pet=dog HTTP/1.1\r\n" +
		"Host: service.internal.example\r\n" +
		"Date: Tue, 20 Apr 2021 02:07:55 GMT\r\n" +
		"Content-Type: application/json\r\n" +
		"Content-Length: 18\r\n" +
		"Client-Cert: " + clientCertB3 + "\r\n" +
		`Signature-Input: ttrp=("@path" "@query" "@method" "@authority" "client-cert");created=1618884473;keyid="test-key-ecc-p256"` + "\r\n" +
		"Signature: ttrp=:" + sigB3 + ":\r\n" +
		"\r\n" +
		`{"hello": "world"}`
	v, err := httpsig.NewVerifier(keys.resolver(t), httpsig.WithClock(rfcNow),
		httpsig.WithRequiredComponents(components(t, `"@method"`, `"@path"`, `"@query"`, `"@authority"`, `"client-cert"`)...))
	require.NoError(t, err)
	got, err := v.VerifyRequest(context.Background(), readRequest(t, text))
	require.NoError(t, err)
	assert.Equal(t, "ttrp", got.Label)

	// The same certificate, signed as a structured field: sf re-serializes
	// the byte sequence to the same value.
	assert.True(t, got.Covers(httpsig.Field("client-cert")))
}

// RFC 9421 Appendix B.4: which transformations of a message keep its
// signature valid.
func TestRFC9421AppendixB4Transformations(t *testing.T) {
	keys := loadRFCKeys(t)
	const sig = `Signature-Input: transform=("@method" "@path" "@authority" "accept");created=1618884473;keyid="test-key-ed25519"` + "\r\n" +
		"Signature: transform=:" + sigB4 + ":\r\n"
	v, err := httpsig.NewVerifier(keys.resolver(t), httpsig.WithClock(rfcNow),
		httpsig.WithRequiredComponents(components(t, `"@method"`, `"@path"`, `"@authority"`, `"accept"`)...))
	require.NoError(t, err)
	tests := []struct {
		name string
		text string
		want error
	}{
		{"original", "GET /demo?name1=Value1&Name2=value2 HTTP/1.1\r\nHost: example.org\r\nDate: Fri, 15 Jul 2022 14:24:55 GMT\r\nAccept: application/json\r\nAccept: */*\r\n" + sig + "\r\n", nil},
		{"query changed, field added", "GET /demo?name1=Value1&Name2=value2&param=added HTTP/1.1\r\nHost: example.org\r\nDate: Fri, 15 Jul 2022 14:24:55 GMT\r\nAccept: application/json\r\nAccept: */*\r\nAccept-Language: en-US,en;q=0.5\r\n" + sig + "\r\n", nil},
		{"fields reordered, date removed, referer added", "GET /demo?name1=Value1&Name2=value2 HTTP/1.1\r\nAccept: application/json\r\nAccept: */*\r\nHost: example.org\r\nReferer: https://developer.example.org/demo\r\n" + sig + "\r\n", nil},
		{"accept lines combined", "GET /demo?name1=Value1&Name2=value2 HTTP/1.1\r\nHost: example.org\r\nAccept: application/json, */*\r\n" + sig + "\r\n", nil},
		{"method changed", "POST /demo?name1=Value1&Name2=value2 HTTP/1.1\r\nHost: example.org\r\nAccept: application/json\r\nAccept: */*\r\n" + sig + "\r\n", httpsig.ErrInvalid},
		{"authority changed", "GET /demo?name1=Value1&Name2=value2 HTTP/1.1\r\nHost: example.com\r\nAccept: application/json\r\nAccept: */*\r\n" + sig + "\r\n", httpsig.ErrInvalid},
		{"accept lines reordered", "GET /demo?name1=Value1&Name2=value2 HTTP/1.1\r\nHost: example.org\r\nAccept: */*\r\nAccept: application/json\r\n" + sig + "\r\n", httpsig.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.VerifyRequest(context.Background(), readRequest(t, tt.text))
			if tt.want == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.want)
			}
		})
	}
}
