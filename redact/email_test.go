package redact_test

import "testing"

// TestEmailEncodings: internationalised domains and local parts, and the '@'
// URL-encoded or JSON-escaped.
func TestEmailEncodings(t *testing.T) {
	const m = "[REDACTED:email]"
	runDetectCases(t, []detectCase{
		{"idn utf-8 domain", "to alice@bücher.de.", "to " + m + "."},
		{"idn utf-8 tld", "user ivan@пример.рф logged in", "user " + m + " logged in"},
		{"idn cjk", "mail 李@例え.テスト ok", "mail " + m + " ok"},
		{"punycode domain", "alice@xn--bcher-kva.de", m},
		{"punycode tld", "ivan@xn--e1afmkfd.xn--p1ai,", m + ","},
		{"utf-8 local part", "josé.garcía@example.es", m},
		{"url-encoded at", "/reset?email=alice%40example.com&x=1", "/reset?email=" + m + "&x=1"},
		{"url-encoded at and plus", "?e=bob%2Bshop%40mail.example.co.uk", "?e=" + m},
		{"json escaped at", `{"email":"alice\u0040example.com"}`, `{"email":"` + m + `"}`},
		{"json escaped at idn", `{"email":"ivan\u0040пример.рф"}`, `{"email":"` + m + `"}`},
		{"at sign still", "carol@example.org", m},
		{"scale-like host with a real tld", "ops@2xample.com", m},
		{"scale-like fraction host", "ops@1.5xample.com", m},
		{"digits then x host", "ops@12.3xy.com", m},
		{"numeric label then host", "ops@1.example.com", m},
	})
	runKeepCases(t, [][2]string{
		{"retina icon", "GET /static/icon@2x.png 200"},
		{"retina icon 3x", `{"src":"logo@3x.webp","alt":"Logo@2X.JPG"}`},
		{"url-encoded handle", "q=%40alice"},
		{"percent forty alone", "cpu 100%40 load"},
		{"escaped at alone", `"\u0040scope/pkg"`},
		{"utf-8 no tld", "josé@localhost"},
		{"punycode no dot", "x@xn--bcher-kva"},
		{"quotes around", "“handle@2x.png”"},
		{"fractional scale", "GET /static/avatar@1.5x.png 200"},
		{"fractional scale json", `{"src":"hero-banner@1.5X.webp","x":"sprite@2.25x.avif"}`},
		{"fractional scale url-encoded", "?asset=logo%401.5x.jpg&x=1"},
		{"whole scale with device", "icon@2x~ipad.png launch@3x~iphone.png"},
		{"scale at end", "file product-74740@1.5x"},
		{"numeric tld encoded", "pkg%401.26.8"},
	})
}
