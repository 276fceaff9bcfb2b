package redact_test

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/ztkit/ztkit/redact"
)

func Example() {
	r, err := redact.New()
	if err != nil {
		panic(err)
	}
	fmt.Println(r.RedactString(`{"user":"alice@example.com","card":"4111 1111 1111 1111","order":"4111111111111112","password":"hunter2"}`))
	// Output:
	// {"user":"[REDACTED:email]","card":"[REDACTED:card]","order":"4111111111111112","password":"[REDACTED:secret]"}
}

func ExampleWithMode() {
	key, err := redact.NewKey([]byte("a 32-byte key from the secret store"))
	if err != nil {
		panic(err)
	}
	r, err := redact.New(
		redact.WithKey(key),
		redact.WithMode(redact.KindCard, redact.ModeTruncate),
		redact.WithMode(redact.KindEmail, redact.ModeToken),
	)
	if err != nil {
		panic(err)
	}
	fmt.Println(r.RedactString("card 4111-1111-1111-1111 customer alice@example.com"))
	fmt.Println(r.RedactString("customer ALICE@example.com again"))
	// Output:
	// card 411111******1111 customer [email:c0f2c1d245]
	// customer [email:c0f2c1d245] again
}

func ExampleNewHandler() {
	r, err := redact.New()
	if err != nil {
		panic(err)
	}
	h, err := redact.NewHandler(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}), r)
	if err != nil {
		panic(err)
	}
	log := slog.New(h)
	log.Info("payment failed for bob@example.com", "pan", "5555555555554444", "api_key", "k-123", "amount", "12.00")
	// Output:
	// level=INFO msg="payment failed for [REDACTED:email]" pan=[REDACTED:card] api_key=[REDACTED:secret] amount=12.00
}

func ExampleNewWriter() {
	r, err := redact.New()
	if err != nil {
		panic(err)
	}
	w, err := redact.NewWriter(os.Stdout, r)
	if err != nil {
		panic(err)
	}
	// A value split across writes is still caught.
	fmt.Fprint(w, "GET /cb?access_tok")
	fmt.Fprint(w, "en=abc123&state=1 HTTP/1.1\ncall +44 20 7946")
	fmt.Fprint(w, " 0958 now\n")
	_ = w.Close()
	// Output:
	// GET /cb?access_token=[REDACTED:secret]&state=1 HTTP/1.1
	// call [REDACTED:phone] now
}

func ExampleSecret() {
	type config struct {
		DSN      string
		Password redact.Secret[string]
	}
	c := config{DSN: "postgres://db:5432/shop", Password: redact.NewSecret("hunter2")}
	fmt.Printf("%+v\n", c)
	fmt.Println(len(c.Password.Reveal()))
	// Output:
	// {DSN:postgres://db:5432/shop Password:[REDACTED]}
	// 7
}

func ExampleNewPrefixDetector() {
	shopKeys, err := redact.NewPrefixDetector("shop_key", 16, "shop_live_", "shop_test_")
	if err != nil {
		panic(err)
	}
	r, err := redact.New(redact.WithDetectors(shopKeys), redact.WithoutDetectors(redact.KindPhone))
	if err != nil {
		panic(err)
	}
	fmt.Println(r.RedactString("key shop_live_8f2b7c1d9e4a6f30 phone +1 415 555 2671"))
	// Output:
	// key [REDACTED:shop_key] phone +1 415 555 2671
}

func ExampleRedactor_WrapError() {
	r, err := redact.New()
	if err != nil {
		panic(err)
	}
	err = r.WrapError(fmt.Errorf("connect postgres://app:s3cr3t@db/shop: %w", os.ErrDeadlineExceeded))
	fmt.Println(err)
	fmt.Println(strings.Contains(fmt.Sprintf("%+v", err), "s3cr3t"))
	// Output:
	// connect postgres://app:[REDACTED:password]@db/shop: i/o timeout
	// false
}
