package redact_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/redact"
)

func testKey(t *testing.T) *redact.Key {
	t.Helper()
	k, err := redact.NewKey([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	return k
}

func TestNewErrors(t *testing.T) {
	key := testKey(t)
	prefix, err := redact.NewPrefixDetector("shop_key", 8, "shop_live_")
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		opts []redact.Option
		want error
	}{
		{"unknown kind mode", []redact.Option{redact.WithMode("nope", redact.ModeMask)}, redact.ErrUnknownKind},
		{"unknown kind off", []redact.Option{redact.WithoutDetectors("nope")}, redact.ErrUnknownKind},
		{"custom kind off", []redact.Option{redact.WithDetectors(prefix), redact.WithoutDetectors("shop_key")}, redact.ErrUnknownKind},
		{"truncate email", []redact.Option{redact.WithMode(redact.KindEmail, redact.ModeTruncate)}, redact.ErrUnsupportedMode},
		{"token without key", []redact.Option{redact.WithMode(redact.KindCard, redact.ModeToken)}, redact.ErrNoKey},
		{"bad mode", []redact.Option{redact.WithMode(redact.KindCard, redact.Mode(9))}, redact.ErrInvalidOption},
		{"zero key", []redact.Option{redact.WithKey(&redact.Key{})}, redact.ErrShortKey},
		{"token length", []redact.Option{redact.WithTokenLength(4)}, redact.ErrInvalidOption},
		{"bad custom kind", []redact.Option{redact.WithDetectors(badKind{})}, redact.ErrInvalidKind},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := redact.New(tc.opts...)
			assert.ErrorIs(t, err, tc.want)
			assert.Nil(t, r)
		})
	}
	for _, opts := range [][]redact.Option{
		nil,
		{nil, redact.WithKey(nil), redact.WithTokenLength(0), redact.WithDetectors(nil)},
		{redact.WithKey(key), redact.WithMode(redact.KindCard, redact.ModeToken), redact.WithTokenLength(64)},
		{redact.WithDetectors(prefix), redact.WithMode("shop_key", redact.ModeMask)},
	} {
		_, err := redact.New(opts...)
		assert.NoError(t, err)
	}
}

type badKind struct{}

func (badKind) Kind() redact.Kind                 { return "Bad Kind" }
func (badKind) Find([]byte, int) (int, int, bool) { return 0, 0, false }

func TestModes(t *testing.T) {
	key := testKey(t)
	r, err := redact.New(redact.WithKey(key),
		redact.WithMode(redact.KindCard, redact.ModeTruncate),
		redact.WithMode(redact.KindIBAN, redact.ModeTruncate),
		redact.WithMode(redact.KindEmail, redact.ModeToken),
		redact.WithMode(redact.KindPhone, redact.ModeToken),
		redact.WithMode(redact.KindSecret, redact.ModeToken),
		redact.WithTokenLength(12))
	require.NoError(t, err)

	out := r.RedactString("pan 4111 1111 1111 1111 amex 378282246310005 iban GB82 WEST 1234 5698 7654 32")
	assert.Equal(t, "pan 411111******1111 amex 37828******0005 iban GB****************5432", out)

	a := r.RedactString("to Alice@Example.COM tel +1 (415) 555-2671 password=hunter2")
	b := r.RedactString("from alice@example.com tel +14155552671 password=hunter2")
	tok := func(s, kind string) string {
		i := strings.Index(s, "["+kind+":")
		require.GreaterOrEqual(t, i, 0, s)
		return s[i : i+len(kind)+2+12+1]
	}
	assert.Equal(t, tok(a, "email"), tok(b, "email"), "case does not change an e-mail token")
	assert.Equal(t, tok(a, "phone"), tok(b, "phone"), "formatting does not change a phone token")
	assert.Equal(t, tok(a, "secret"), tok(b, "secret"))
	assert.Regexp(t, `^\[email:[0-9a-f]{12}\]$`, tok(a, "email"))
	assert.NotEqual(t, tok(a, "email")[7:], tok(r.RedactString("carol@example.com"), "email")[7:])

	other, err := redact.NewKey([]byte("another-key-0123456789"))
	require.NoError(t, err)
	r2, err := redact.New(redact.WithKey(other), redact.WithMode(redact.KindEmail, redact.ModeToken), redact.WithTokenLength(12))
	require.NoError(t, err)
	assert.NotEqual(t, tok(a, "email"), tok(r2.RedactString("alice@example.com"), "email"), "another key, another token")
}

func TestWithoutDetectors(t *testing.T) {
	r, err := redact.New(redact.WithoutDetectors(redact.KindPhone, redact.KindEmail))
	require.NoError(t, err)
	assert.Equal(t, "+1 415 555 2671 a@example.com [REDACTED:card]", r.RedactString("+1 415 555 2671 a@example.com 4111111111111111"))
	off, err := redact.New(redact.WithoutDetectors(redact.BuiltinKinds()...))
	require.NoError(t, err)
	in := "4111111111111111 a@example.com password=x GB82WEST12345698765432 AKIAIOSFODNN7EXAMPLE"
	assert.Equal(t, in, off.RedactString(in))
}

func TestCustomDetectors(t *testing.T) {
	shop, err := redact.NewPrefixDetector("shop_key", 8, "shop_live_", "shop_test_")
	require.NoError(t, err)
	r, err := redact.New(redact.WithDetectors(shop, employeeID{}))
	require.NoError(t, err)
	assert.Equal(t, "k=[REDACTED:shop_key] by [REDACTED:employee] card [REDACTED:card]",
		r.RedactString("k=shop_live_abcdefgh123 by EMP-000042 card 4111111111111111"))
	assert.Equal(t, "shop_live_abc xshop_live_abcdefgh123", r.RedactString("shop_live_abc xshop_live_abcdefgh123"))
	clean := []byte("nothing here")
	out := r.Redact(nil, clean)
	assert.Equal(t, &clean[0], &out[0], "a clean line comes back as is with custom detectors too")

	// Overlap: a custom detector that claims a card number and more.
	wide, err := redact.New(redact.WithDetectors(cardWithCVV{}))
	require.NoError(t, err)
	assert.Equal(t, "pay [REDACTED:card] ok", wide.RedactString("pay 4111111111111111/123 ok"))

	for _, tc := range []struct {
		kind    redact.Kind
		min     int
		prefix  []string
		wantErr error
	}{
		{"UPPER", 1, []string{"x"}, redact.ErrInvalidKind},
		{"ok", 0, []string{"x"}, redact.ErrInvalidOption},
		{"ok", 1, nil, redact.ErrInvalidOption},
		{"ok", 1, []string{""}, redact.ErrInvalidOption},
	} {
		_, err := redact.NewPrefixDetector(tc.kind, tc.min, tc.prefix...)
		assert.ErrorIs(t, err, tc.wantErr)
	}
}

// employeeID finds EMP- and six digits.
type employeeID struct{}

func (employeeID) Kind() redact.Kind { return "employee" }

func (employeeID) Find(src []byte, from int) (int, int, bool) {
	for i := from; i+10 <= len(src); i++ {
		if string(src[i:i+4]) == "EMP-" {
			return i, i + 10, true
		}
	}
	return 0, 0, false
}

// cardWithCVV finds a card followed by /cvv, overlapping the built-in card.
type cardWithCVV struct{}

func (cardWithCVV) Kind() redact.Kind { return redact.KindCard }

func (cardWithCVV) Find(src []byte, from int) (int, int, bool) {
	i := strings.Index(string(src[from:]), "/")
	if i < 0 || from+i < 16 || from+i+4 > len(src) {
		return 0, 0, false
	}
	return from + i - 10, from + i + 4, true
}

func TestConcurrentUse(t *testing.T) {
	r, err := redact.New(redact.WithKey(testKey(t)), redact.WithMode(redact.KindEmail, redact.ModeToken))
	require.NoError(t, err)
	want := r.RedactString("a@example.com 4111111111111111")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				assert.Equal(t, want, r.RedactString("a@example.com 4111111111111111"))
			}
		}()
	}
	wg.Wait()
}

func TestZeroRedactor(t *testing.T) {
	var r redact.Redactor
	assert.Equal(t, "[REDACTED:card] [REDACTED:email]", r.RedactString("4111111111111111 a@example.com"))
}

func TestRedactAppends(t *testing.T) {
	r, err := redact.New()
	require.NoError(t, err)
	dst := []byte("prefix: ")
	assert.Equal(t, "prefix: clean", string(r.Redact(dst, []byte("clean"))))
	assert.Equal(t, "prefix: [REDACTED:email]", string(r.Redact(dst, []byte("a@example.com"))))
	assert.Empty(t, r.Redact(nil, nil))
	assert.Equal(t, "", r.RedactString(""))
}

func TestWrapError(t *testing.T) {
	r, err := redact.New()
	require.NoError(t, err)
	assert.NoError(t, r.WrapError(nil))
	cause := &fs.PathError{Op: "open", Path: "/home/alice@example.com/.pgpass", Err: fs.ErrNotExist}
	wrapped := r.WrapError(fmt.Errorf("load credentials for postgres://app:s3cr3t@db/x: %w", cause))
	assert.Equal(t, "load credentials for postgres://app:[REDACTED:password]@db/x: open /home/[REDACTED:email]/.pgpass: file does not exist", wrapped.Error())
	assert.ErrorIs(t, wrapped, fs.ErrNotExist)
	var pe *fs.PathError
	require.ErrorAs(t, wrapped, &pe)
	assert.Same(t, cause, pe)
	var re *redact.Error
	require.ErrorAs(t, wrapped, &re)
	for _, verb := range []string{"%v", "%+v", "%s", "%q", "%#v"} {
		out := fmt.Sprintf(verb, wrapped)
		assert.NotContains(t, out, "s3cr3t", verb)
		assert.NotContains(t, out, "alice@", verb)
	}
	joined := r.WrapError(errors.Join(errors.New("token=abc"), fs.ErrPermission))
	assert.Equal(t, "token=[REDACTED:secret]\npermission denied", joined.Error())
	assert.ErrorIs(t, joined, fs.ErrPermission)
}

func TestModeParse(t *testing.T) {
	for _, m := range []redact.Mode{redact.ModeMask, redact.ModeTruncate, redact.ModeToken} {
		got, err := redact.ParseMode(m.String())
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	_, err := redact.ParseMode("hash")
	assert.ErrorIs(t, err, redact.ErrInvalidOption)
	assert.Equal(t, "Mode(9)", redact.Mode(9).String())
	assert.Len(t, redact.BuiltinKinds(), 14)
}

// TestTokenVector checks a token against HMAC-SHA-256 computed directly: the
// kind name, a zero byte, the normalised value.
func TestTokenVector(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	k, err := redact.NewKey(key)
	require.NoError(t, err)
	r, err := redact.New(redact.WithKey(k), redact.WithMode(redact.KindCard, redact.ModeToken),
		redact.WithMode(redact.KindIBAN, redact.ModeToken), redact.WithTokenLength(16))
	require.NoError(t, err)
	want := func(kind, norm string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(kind + "\x00" + norm))
		return "[" + kind + ":" + hex.EncodeToString(m.Sum(nil))[:16] + "]"
	}
	assert.Equal(t, want("card", "4111111111111111"), r.RedactString("4111 1111 1111 1111"))
	assert.Equal(t, want("iban", "GB82WEST12345698765432"), r.RedactString("GB82 WEST 1234 5698 7654 32"))
}
