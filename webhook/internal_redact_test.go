package webhook

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestKeyTypesNeverPrint(t *testing.T) {
	k, err := parseStandardSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	mac := k.mac.Reveal()
	leaks := []string{"MfKQ9r8", hex.EncodeToString(mac), strings.Trim(fmt.Sprint(mac), "[]")[:12], fmt.Sprintf("%X", mac)}
	st := ringState{raw: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", current: &k, previous: &k}
	for _, x := range []any{k, &k, st, &st, []key{k}, struct{ K key }{k}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d"} {
			out := fmt.Sprintf(verb, x)
			if !strings.Contains(out, "[REDACTED]") {
				t.Errorf("%T printed with %s has no [REDACTED]", x, verb)
			}
			for _, l := range leaks {
				if strings.Contains(out, l) {
					t.Errorf("%T printed with %s shows key material", x, verb)
				}
			}
		}
		j, err := json.Marshal(x)
		if err != nil || !strings.Contains(string(j), "[REDACTED]") {
			t.Errorf("%T encodes as JSON without [REDACTED]", x)
		}
		for _, l := range leaks {
			if strings.Contains(string(j), l) {
				t.Errorf("%T encodes key material as JSON", x)
			}
		}
	}
}
