package redact

import (
	"net/http"
	"net/url"
	"strings"
)

// credentialHeader classifies header fields that carry credentials whatever
// their value looks like.
func credentialHeader(name string) keyClass {
	switch http.CanonicalHeaderKey(name) {
	case "Authorization", "Proxy-Authorization":
		return keyAuth
	case "Cookie", "Set-Cookie":
		return keyHeader
	case "Dpop", "X-Api-Key", "Api-Key", "X-Auth-Token", "X-Csrf-Token", "X-Xsrf-Token",
		"X-Amz-Security-Token", "X-Vault-Token", "X-Goog-Api-Key", "X-Access-Token":
		return keyPlain
	}
	if strings.Contains(strings.ToLower(name), "credential") {
		return keyPlain // X-Amz-Credential, Proxy-Credentials, X-Credential-Id
	}
	return secretKey([]byte(name))
}

// Header returns a copy of h for an access log. Authorization and
// Proxy-Authorization keep their scheme (Bearer [REDACTED:secret]); Cookie keeps
// its cookie names and Set-Cookie its name and attributes; DPoP, X-Api-Key,
// X-Auth-Token and every field whose name says secret are replaced whole; all
// other values go through the detectors. h is not modified.
func (r *Redactor) Header(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for name, vs := range h {
		cls := credentialHeader(name)
		if !r.on(kSecret) {
			cls = keyNone
		}
		rv := make([]string, len(vs))
		for i, v := range vs {
			switch cls {
			case keyNone:
				rv[i] = r.RedactString(v)
			case keyAuth:
				vs := skipScheme([]byte(v), 0, len(v))
				rv[i] = v[:vs] + r.secret(v[vs:])
			case keyHeader:
				rv[i] = r.cookies(v, http.CanonicalHeaderKey(name) == "Set-Cookie")
			default:
				rv[i] = r.secret(v)
			}
		}
		out[name] = rv
	}
	return out
}

// secret returns the replacement of v as a whole [KindSecret] value.
func (r *Redactor) secret(v string) string {
	if v == "" {
		return ""
	}
	return string(r.replace(nil, []byte(v), kSecret, false))
}

// cookies replaces the values of a Cookie field (name=value; name=value) or
// of the first pair of a Set-Cookie field, keeping names and attributes.
func (r *Redactor) cookies(v string, set bool) string {
	var b strings.Builder
	for i, part := range strings.Split(v, ";") {
		if i > 0 {
			b.WriteByte(';')
		}
		if set && i > 0 {
			b.WriteString(part)
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			b.WriteString(r.secret(part))
			continue
		}
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(r.secret(val))
	}
	return b.String()
}

// URL returns u as a string for an access log: the password of its userinfo
// replaced ([KindURLPassword]) and its path, query and fragment redacted as by
// [Redactor.Query] and [Redactor.RedactString]; a chat webhook URL
// ([KindWebhook]) keeps only its scheme and host. u is not modified.
func (r *Redactor) URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	if r.on(kWebhook) && u.Host != "" && u.Scheme != "" {
		// A chat webhook: its path and query are the credential.
		s := []byte(u.Scheme + "://" + u.Host + u.EscapedPath())
		if _, e := webhookURLAt(s, len(u.Scheme), 0); e > 0 {
			return u.Scheme + "://" + u.Host + "/" + string(r.replace(nil, nil, kWebhook, true))
		}
	}
	var b strings.Builder
	if u.Scheme != "" {
		b.WriteString(u.Scheme)
		b.WriteByte(':')
	}
	if u.Opaque != "" {
		b.WriteString(r.RedactString(u.Opaque))
	} else {
		if u.Scheme != "" || u.Host != "" || u.User != nil {
			b.WriteString("//")
			if u.User != nil {
				b.WriteString(url.PathEscape(u.User.Username()))
				if _, ok := u.User.Password(); ok {
					b.WriteByte(':')
					if r.on(kURLPassword) {
						b.Write(r.replace(nil, nil, kURLPassword, true))
					} else {
						p, _ := u.User.Password()
						b.WriteString(url.PathEscape(p))
					}
				}
				b.WriteByte('@')
			}
			b.WriteString(u.Host)
		}
		b.WriteString(r.RedactString(u.EscapedPath()))
	}
	if u.ForceQuery || u.RawQuery != "" {
		b.WriteByte('?')
		b.WriteString(r.Query(u.RawQuery))
	}
	if u.Fragment != "" {
		b.WriteByte('#')
		b.WriteString(r.RedactString(u.EscapedFragment()))
	}
	return b.String()
}

// Query returns a raw query string (a=1&b=2, as in [url.URL.RawQuery]) for an
// access log: the value of each parameter whose name says secret is replaced
// whole ([KindSecret]); every other value is decoded, redacted and, if
// anything was found, written back decoded with only '&', '#', '+', '%' and
// spaces escaped. Names and the order of parameters are kept.
func (r *Redactor) Query(rawQuery string) string {
	if rawQuery == "" {
		return ""
	}
	var b strings.Builder
	for i, pair := range strings.Split(rawQuery, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		rawName, rawVal, hasVal := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			name = rawName
		}
		b.WriteString(r.RedactString(rawName))
		if !hasVal {
			continue
		}
		b.WriteByte('=')
		if rawVal != "" && r.on(kSecret) && secretKey([]byte(name)).secretFor([]byte(rawVal)) {
			b.WriteString(r.secret(rawVal))
			continue
		}
		val, err := url.QueryUnescape(rawVal)
		if err != nil {
			b.WriteString(r.RedactString(rawVal))
			continue
		}
		red := r.RedactString(val)
		if red == val {
			b.WriteString(rawVal)
			continue
		}
		b.WriteString(queryEscapeLoose(red))
	}
	return b.String()
}

// queryEscapeLoose escapes only what would change how a query string reads.
func queryEscapeLoose(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&', '#', '+', '%':
			b.WriteString(url.QueryEscape(string(c)))
		case ' ':
			b.WriteByte('+')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
