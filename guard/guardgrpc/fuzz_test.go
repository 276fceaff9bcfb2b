package guardgrpc_test

import (
	"regexp"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/ztkit/ztkit/guard"
	"github.com/ztkit/ztkit/guard/guardgrpc"
)

// FuzzStatus checks that any reason code gives a status with one ErrorInfo
// whose reason has the documented form, or is REFUSED, and whose metadata
// holds the code as is.
func FuzzStatus(f *testing.F) {
	for _, s := range []string{"dpop_replayed", "", "x", "_9a_", "é_code", "insufficient_scope", "a-b.c", "\x00\xff"} {
		f.Add(s, uint8(guard.ClassUnauthenticated))
	}
	form := regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,61}[A-Z0-9]$`)
	f.Fuzz(func(t *testing.T, reason string, class uint8) {
		st := guardgrpc.Status(&guard.Refusal{Class: guard.Class(class), Reason: guard.Reason(reason), Detail: "No."})
		if st.Code() != guardgrpc.Code(guard.Class(class)) {
			t.Fatalf("code %v for class %d", st.Code(), class)
		}
		d := st.Details()
		if len(d) != 1 {
			t.Fatalf("%d details", len(d))
		}
		info, ok := d[0].(*errdetails.ErrorInfo)
		if !ok {
			t.Fatalf("detail %T", d[0])
		}
		if r := info.GetReason(); !form.MatchString(r) {
			t.Fatalf("reason %q", r)
		}
		if info.GetDomain() != "ztkit" || len(info.GetMetadata()) != 1 {
			t.Fatal("domain or metadata")
		}
	})
}
