package redact_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ztkit/ztkit/redact"
)

type customer struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// payment resolves to a group through slog.LogValuer.
type payment struct{ pan, amount string }

func (p payment) LogValue() slog.Value {
	return slog.GroupValue(slog.String("pan", p.pan), slog.String("amount", p.amount))
}

func newLogger(t *testing.T) (*slog.Logger, *bytes.Buffer) {
	t.Helper()
	r, err := redact.New()
	require.NoError(t, err)
	var buf bytes.Buffer
	h, err := redact.NewHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}), r)
	require.NoError(t, err)
	return slog.New(h), &buf
}

// TestHandlerGolden locks in a redacted log line.
func TestHandlerGolden(t *testing.T) {
	log, buf := newLogger(t)
	log = log.With("service", "checkout", "operator", "ops@example.com")
	log.WithGroup("req").Info("charge for alice@example.com failed",
		"card", "4111 1111 1111 1111",
		"pan_int", int64(4111111111111111),
		"order", int64(4111111111111112),
		"password", "hunter2",
		"token", 12345,
		slog.Group("payer", "iban", "GB82WEST12345698765432", "phone", "+1 (415) 555-2671"),
		"payment", payment{pan: "5555555555554444", amount: "12.00"},
		"customer", customer{Email: "bob@example.com", Name: "Bob"},
		"err", errors.New("dial postgres://app:s3cr3t@db:5432: refused"),
		"secret", redact.NewSecret("hunter2"),
		"when", time.Duration(0),
	)
	const want = `{"level":"INFO","msg":"charge for [REDACTED:email] failed","service":"checkout","operator":"[REDACTED:email]",` +
		`"req":{"card":"[REDACTED:card]","pan_int":"[REDACTED:card]","order":4111111111111112,"password":"[REDACTED:secret]",` +
		`"token":"[REDACTED:secret]","payer":{"iban":"[REDACTED:iban]","phone":"[REDACTED:phone]"},` +
		`"payment":{"pan":"[REDACTED:card]","amount":"12.00"},"customer":"{\"email\":\"[REDACTED:email]\",\"name\":\"Bob\"}",` +
		`"err":"dial postgres://app:[REDACTED:password]@db:5432: refused","secret":"[REDACTED:secret]","when":0}}` + "\n"
	assert.Equal(t, want, buf.String())
	assert.NotContains(t, buf.String(), "hunter2")
}

func TestHandlerPassesCleanValues(t *testing.T) {
	log, buf := newLogger(t)
	log.Info("order placed", "order_id", "ORD-2026-000123", "ts", int64(1732350000123), "ok", true,
		"customer", customer{Name: "Bob"}, slog.Group("empty"))
	var got map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
	assert.Equal(t, "ORD-2026-000123", got["order_id"])
	assert.EqualValues(t, 1732350000123, got["ts"])
	assert.Equal(t, map[string]any{"email": "", "name": "Bob"}, got["customer"], "a clean struct keeps its JSON form")
}

func TestHandlerEnabledAndGroups(t *testing.T) {
	r, err := redact.New()
	require.NoError(t, err)
	var buf bytes.Buffer
	h, err := redact.NewHandler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}), r)
	require.NoError(t, err)
	assert.False(t, h.Enabled(context.Background(), slog.LevelInfo))
	assert.True(t, h.Enabled(context.Background(), slog.LevelError))
	assert.Same(t, h, h.WithGroup(""))
	_, err = redact.NewHandler(nil, r)
	assert.ErrorIs(t, err, redact.ErrNilArgument)
	_, err = redact.NewHandler(h, nil)
	assert.ErrorIs(t, err, redact.ErrNilArgument)
}

func TestHandlerTokenMode(t *testing.T) {
	key, err := redact.NewKey([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	r, err := redact.New(redact.WithKey(key), redact.WithMode(redact.KindEmail, redact.ModeToken))
	require.NoError(t, err)
	var buf bytes.Buffer
	h, err := redact.NewHandler(slog.NewTextHandler(&buf, nil), r)
	require.NoError(t, err)
	log := slog.New(h)
	log.Info("a", "who", "Alice@Example.com")
	log.Info("b", "who", "alice@example.com")
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	require.Len(t, lines, 2)
	tok1 := lines[0][bytes.Index(lines[0], []byte("who=")):]
	tok2 := lines[1][bytes.Index(lines[1], []byte("who=")):]
	assert.Equal(t, string(tok1), string(tok2), "one customer, one token")
	assert.Regexp(t, `^who=\[email:[0-9a-f]{10}\]$`, string(tok1))
}
