// Package redact keeps payment cards, IBANs, e-mail addresses, phone numbers,
// tokens, keys and passwords out of logs, error messages and access logs.
//
// A [Redactor] scans a line once, left to right, without regular expressions,
// and replaces what its detectors find:
//
//	r, err := redact.New()
//	...
//	r.RedactString(`{"user":"alice@example.com","card":"4111 1111 1111 1111"}`)
//	// {"user":"[REDACTED:email]","card":"[REDACTED:card]"}
//
// Every value is unsafe until a detector has had its say; a value that only
// looks like one of them (an order id that fails the Luhn check, a millisecond
// timestamp, a date, a version, a price, an IP address, a UUID) is left as it
// was. A clean line costs no allocation: [Redactor.Redact] and
// [Redactor.RedactString] hand the input back when nothing matched. How
// many secrets and look-alikes of each class a generated commerce log corpus
// has removed and kept is in the precision/recall table of the package's
// README.md (Results).
//
// # What is found
//
// The built-in detectors, each switched off with [WithoutDetectors] and named
// by its [Kind]:
//
//   - [KindCard]: 12 to 19 digits, plain or in groups joined by spaces, tabs,
//     dashes, dots, slashes, no-break spaces, URL-encoded spaces, dashes,
//     dots or slashes (%20, +, %2D, %2E, %2F) or JSON-escaped ones, mixed or
//     doubled, the digits themselves possibly
//     JSON-escaped (\u0034), that pass the Luhn check and fall in an issuer
//     range with the right length for the brand (Visa, Mastercard, American
//     Express, Discover, JCB, UnionPay, Diners Club, Maestro). The slog
//     handler checks whole float64 values in their integer form. Groups of
//     one size joined by one separator are one value (an account or
//     tracking number), redacted whole or not at all: a phone number is not
//     taken from inside one; a card at any of its groups, or one that such
//     a run goes on past, takes the whole run (ref 1234 4111 1111 1111
//     1111), unless the run is a 22-digit USPS tracking number with a valid
//     check digit.
//   - [KindIBAN]: a country code from the SWIFT IBAN registry or its list of
//     countries that use IBANs at home, that country's length and a good
//     ISO 7064 mod-97 check; compact or grouped, with spaces or dashes, the
//     check digits perhaps set apart (DK 50 0040 0440116243), in upper or
//     lower case.
//   - [KindEmail]: local@domain.tld, internationalised domains (UTF-8 or
//     xn-- A-labels) included, with the '@' also URL-encoded (%40) or
//     JSON-escaped (\u0040). An image's display scale (icon@2x.png,
//     avatar@1.5x.webp) is not an address.
//   - [KindPhone]: E.164 numbers with a leading + and national numbers written
//     with separators ((415) 555-2671, 415-555-2671, 020 7946 0958). A national
//     number inside a longer grouped value (an account number that no other
//     detector took) takes the whole value with it: a value is redacted whole
//     or not at all.
//   - [KindJWT]: JWS and JWE compact serialisations (eyJ….….…).
//   - [KindSecret]: the value of a key whose name says it is secret (password,
//     passwd, pwd, passcode, secret, api_key, secret_key, token,
//     authorization, cookie, credentials, cvv, pin, dpop, …, also as a suffix
//     such as db_password or aws_secret_access_key, at any length) in JSON,
//     query strings and key=value or key: value text, also when the name is
//     JSON-escaped ("\u0070assword") or URL-encoded (api%5Fkey, password%3D);
//     an Authorization header keeps its scheme. Under a dpop key only a JWT
//     is taken, as a DPoP proof is one (RFC 9449): "dpop: replay check
//     unavailable", an error message's package prefix, stays.
//   - [KindURLPassword]: the password in scheme://user:password@host.
//   - [KindVaultToken], [KindAWSKey], [KindStripeKey], [KindGitHubToken],
//     [KindSlackToken]: well-known token prefixes.
//   - [KindWebhook]: webhook signing secrets (whsec_…), Standard Webhooks
//     private keys (whsk_…) and chat webhook URLs
//     (Slack, Discord, Microsoft Teams, Google Chat), whose path is the
//     credential.
//   - [KindPrivateKey]: PEM private key blocks, whole, when the block ends with
//     an END line of the same label within [MaxKeyBlock] bytes and holds only
//     base64 text; a lone or injected BEGIN line removes nothing after it.
//
// A service adds its own with [WithDetectors]; a [Detector] is one method and a
// kind.
//
// # What replaces it
//
// Each kind is replaced according to its [Mode] ([WithMode]): a mask such as
// [REDACTED:card] (the default), PCI truncation of a card to at most its first
// six and last four digits, or a keyed token such as [email:7f3a9c1e2b], an
// HMAC-SHA-256 of the value under a service [Key], so that the same customer
// gives the same token on every line and in every service that shares the key.
//
// # Where it plugs in
//
//   - [NewHandler]: a [log/slog.Handler] middleware that redacts the message and
//     every attribute value, groups included, after resolving
//     [log/slog.LogValuer]s.
//   - [NewWriter]: an [io.Writer] for line-oriented output that redacts as it
//     streams, with a bounded buffer.
//   - [Redactor.WrapError]: an error whose message is redacted while
//     [errors.Is] and [errors.As] still reach the cause.
//   - [Redactor.Header], [Redactor.URL] and [Redactor.Query]: HTTP header values
//     and query strings for access logs.
//   - [Secret]: a value that prints as [Marker] whatever formats it.
//
// # Speed
//
// A scan is linear in the input. Most bytes of a log line start nothing:
// the scanner visits only those that may start a value (a digit that begins a
// word, a key separator, a token prefix). On amd64 CPUs with AVX-512 (F, BW
// and VBMI) a Redactor from [New] finds them 64 bytes at a time with vector
// instructions; on other CPUs, with the purego build tag, or in the zero
// Redactor, one byte at a time. Both find the same values.
//
// The package imports the standard library only.
package redact
