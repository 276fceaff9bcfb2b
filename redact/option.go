package redact

import "fmt"

// Option configures [New].
type Option interface {
	apply(*config)
}

// config collects options; New validates it once all options have applied.
type config struct {
	modes     map[Kind]Mode
	off       []Kind
	detectors []Detector
	key       *Key
	tokenLen  int
	err       error
}

func newConfig() *config {
	return &config{modes: make(map[Kind]Mode), tokenLen: 10}
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithMode replaces values of kind according to mode. kind must be a built-in
// kind or the kind of a detector given with [WithDetectors] ([ErrUnknownKind]);
// [ModeTruncate] applies to [KindCard] and [KindIBAN] only
// ([ErrUnsupportedMode]); [ModeToken] needs [WithKey] ([ErrNoKey]). The last
// WithMode for a kind wins.
func WithMode(kind Kind, mode Mode) Option {
	return optionFunc(func(c *config) { c.modes[kind] = mode })
}

// WithKey sets the key of [ModeToken]. nil keeps the default, no key; a key
// shorter than [MinKeySize], such as the zero Key, is refused with
// [ErrShortKey].
func WithKey(k *Key) Option {
	return optionFunc(func(c *config) {
		if k == nil {
			return
		}
		if len(k.bytes()) < MinKeySize {
			c.err = fmt.Errorf("%w: %d bytes", ErrShortKey, len(k.bytes()))
			return
		}
		c.key = k
	})
}

// WithDetectors adds detectors that run after the built-in ones; where
// matches overlap, the one that starts first wins and the union of the two is
// masked. nil detectors are skipped. A detector's kind must be a valid kind
// name ([ErrInvalidKind]); it may be a built-in kind, whose mode it then shares.
func WithDetectors(ds ...Detector) Option {
	return optionFunc(func(c *config) {
		for _, d := range ds {
			if d != nil {
				c.detectors = append(c.detectors, d)
			}
		}
	})
}

// WithoutDetectors switches off the built-in detectors of kinds. Each must be
// a built-in kind ([ErrUnknownKind]). Detectors added with [WithDetectors] stay.
func WithoutDetectors(kinds ...Kind) Option {
	return optionFunc(func(c *config) { c.off = append(c.off, kinds...) })
}

// WithTokenLength sets how many hex digits of the HMAC a [ModeToken]
// replacement keeps, from 8 to 64 ([ErrInvalidOption]). 0 keeps the default,
// 10 (40 bits: collisions stay rare up to about a million distinct values per
// kind).
func WithTokenLength(hexDigits int) Option {
	return optionFunc(func(c *config) {
		if hexDigits == 0 {
			return
		}
		if hexDigits < 8 || hexDigits > 64 {
			c.err = fmt.Errorf("%w: token length %d, want 8 to 64", ErrInvalidOption, hexDigits)
			return
		}
		c.tokenLen = hexDigits
	})
}

// WriterOption configures [NewWriter].
type WriterOption interface {
	applyWriter(*writerConfig)
}

type writerConfig struct {
	size int
	err  error
}

type writerOptionFunc func(*writerConfig)

func (f writerOptionFunc) applyWriter(c *writerConfig) { f(c) }

// DefaultBufferSize is the default bound of a [Writer]'s line buffer.
const DefaultBufferSize = 64 << 10

// MinBufferSize is the smallest buffer [WithBufferSize] accepts.
const MinBufferSize = 4 << 10

// WithBufferSize bounds the bytes a [Writer] holds for a line that has not
// ended yet. 0 keeps [DefaultBufferSize]; less than [MinBufferSize] is refused
// with [ErrInvalidOption].
func WithBufferSize(n int) WriterOption {
	return writerOptionFunc(func(c *writerConfig) {
		if n == 0 {
			return
		}
		if n < MinBufferSize {
			c.err = fmt.Errorf("%w: buffer size %d, want at least %d", ErrInvalidOption, n, MinBufferSize)
			return
		}
		c.size = n
	})
}
