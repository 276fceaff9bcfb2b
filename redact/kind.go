package redact

import "fmt"

// Kind names a category of sensitive value. It selects the [Mode] a value is
// replaced with and appears in the replacement, as in [REDACTED:card].
//
// The kind of a custom [Detector] is 1 to 32 characters from a-z, 0-9, '_'
// and '-'. It may name a built-in kind, whose [Mode] it then shares.
type Kind string

// The kinds of the built-in detectors.
const (
	// KindCard is a payment card number (PAN).
	KindCard Kind = "card"
	// KindIBAN is an International Bank Account Number.
	KindIBAN Kind = "iban"
	// KindEmail is an e-mail address.
	KindEmail Kind = "email"
	// KindPhone is a telephone number.
	KindPhone Kind = "phone"
	// KindJWT is a JWS or JWE in compact serialisation (RFC 7515 §7.1, RFC 7516 §7.1).
	KindJWT Kind = "jwt"
	// KindSecret is the value of a key whose name says it is secret, including
	// the credentials of Authorization, Cookie and DPoP header fields.
	KindSecret Kind = "secret"
	// KindURLPassword is the password in the userinfo of a URL (RFC 3986 §3.2.1).
	KindURLPassword Kind = "password"
	// KindVaultToken is a HashiCorp Vault token (hvs., hvb. or legacy s.).
	KindVaultToken Kind = "vault_token"
	// KindAWSKey is an AWS access key id (AKIA or ASIA).
	KindAWSKey Kind = "aws_key"
	// KindStripeKey is a Stripe secret or restricted key (sk_live_, rk_live_,
	// sk_test_, rk_test_).
	KindStripeKey Kind = "stripe_key"
	// KindGitHubToken is a GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_).
	KindGitHubToken Kind = "github_token"
	// KindSlackToken is a Slack token (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-).
	KindSlackToken Kind = "slack_token"
	// KindPrivateKey is a PEM private key block (RFC 7468).
	KindPrivateKey Kind = "private_key"
	// KindWebhook is a webhook credential: a signing secret (whsec_…, Stripe,
	// Svix), a Standard Webhooks Ed25519 private key (whsk_…) or a chat
	// webhook URL, whose path is what lets anyone post (Slack
	// hooks.slack.com, Discord /api/webhooks/, Microsoft Teams
	// *.webhook.office.com and Workflows on *.logic.azure.com, Google Chat).
	KindWebhook Kind = "webhook"
)

// Indices of the built-in kinds; custom detectors follow at numBuiltin.
const (
	kCard = iota
	kIBAN
	kEmail
	kPhone
	kJWT
	kSecret
	kURLPassword
	kVault
	kAWS
	kStripe
	kGitHub
	kSlack
	kPrivateKey
	kWebhook
	numBuiltin
)

// builtinKinds lists the built-in kinds by index.
func builtinKinds() [numBuiltin]Kind {
	return [numBuiltin]Kind{
		KindCard, KindIBAN, KindEmail, KindPhone, KindJWT, KindSecret, KindURLPassword,
		KindVaultToken, KindAWSKey, KindStripeKey, KindGitHubToken, KindSlackToken, KindPrivateKey, KindWebhook,
	}
}

// BuiltinKinds returns the kinds of the built-in detectors, in a fresh slice
// the caller owns.
func BuiltinKinds() []Kind {
	ks := builtinKinds()
	return ks[:]
}

// builtinIndex returns the index of a built-in kind, or -1.
func builtinIndex(k Kind) int {
	ks := builtinKinds()
	for i, b := range ks {
		if b == k {
			return i
		}
	}
	return -1
}

// validKindName reports whether k can name a custom kind.
func validKindName(k Kind) bool {
	if len(k) == 0 || len(k) > 32 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Mode says what replaces a detected value. The zero value is [ModeMask].
type Mode uint8

const (
	// ModeMask replaces the value with [REDACTED:kind].
	ModeMask Mode = iota
	// ModeTruncate keeps part of the value, for kinds where a standard allows it:
	// a card keeps at most its first six and last four digits (PCI DSS v4.0
	// requirement 3.4.1) and always hides at least six, separators dropped, as in
	// 411111******1111; an IBAN keeps its country code and last four characters.
	// Other kinds refuse it with [ErrUnsupportedMode].
	ModeTruncate
	// ModeToken replaces the value with [kind:hex], the first hex digits of
	// HMAC-SHA-256 under the [Key] given with [WithKey], over the kind and the
	// normalised value (digits of a card or phone, upper-case IBAN, lower-case
	// e-mail address). Equal values give equal tokens under one key.
	ModeToken
)

// String returns the mode's name as [ParseMode] reads it.
func (m Mode) String() string {
	switch m {
	case ModeMask:
		return "mask"
	case ModeTruncate:
		return "truncate"
	case ModeToken:
		return "token"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// ParseMode reads "mask", "truncate" or "token".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "mask":
		return ModeMask, nil
	case "truncate":
		return ModeTruncate, nil
	case "token":
		return ModeToken, nil
	}
	return 0, fmt.Errorf("%w: mode %q", ErrInvalidOption, s)
}
