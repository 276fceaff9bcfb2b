package totp_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ztkit/ztkit/redact"
	"github.com/ztkit/ztkit/tokens/sts"
	stotp "github.com/ztkit/ztkit/tokens/sts/totp"
)

// A customer's code is checked against their secret, at the time of RFC
// 6238 Appendix B's third row (its SHA-1 value 07081804, whose last six
// digits are the 6-digit code); the same code is refused the second time.
func ExampleVerifier_Verify() {
	now := func() time.Time { return time.Unix(1111111109, 0) }
	secrets := stotp.SecretsFunc(func(_ context.Context, subject string) (redact.Secret[string], error) {
		if subject != "customer-42" {
			return redact.Secret[string]{}, sts.ErrFactorNotEnrolled
		}
		return redact.NewSecret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), nil
	})
	v, err := stotp.New(secrets, stotp.WithClock(now))
	if err != nil {
		fmt.Println(err)
		return
	}
	factor := sts.Factor{Method: sts.AMROTP, Code: redact.NewSecret("081804")}
	fmt.Println(factor)
	a, err := v.Verify(context.Background(), "customer-42", factor)
	fmt.Println(a.ACR, a.AMR, a.Time.UTC().Format(time.RFC3339), err)
	_, err = v.Verify(context.Background(), "customer-42", factor)
	fmt.Println(err)
	// Output:
	// {otp [REDACTED]}
	// mfa [otp] 2005-03-18T01:58:29Z <nil>
	// totp: sts: second factor used before
}
