package redact

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"sync"
)

// lookbehind is how much already written text a Writer keeps in front of a
// cut, so that a key name or URL scheme just before it still counts.
const lookbehind = 512

// Writer is an [io.Writer] for line-oriented output (logs, access logs,
// command output) that redacts as it streams. It writes each line, redacted,
// as soon as its newline arrives; a value split across two Write calls is
// caught all the same.
//
// The text a Writer holds is bounded by its buffer size ([WithBufferSize]).
// A line that outgrows the buffer is written in pieces: each cut holds the
// last quarter of the buffer back, moves before any match whose value or
// context (a key name, a URL scheme) it would split, and keeps the 512 bytes
// before it as context, so a value straddling a cut is redacted whole as long
// as it is shorter than that quarter. Should a single match fill the whole
// buffer, its replacement is written and the rest of its line dropped.
//
// A PEM private key block that spans lines is held from its BEGIN line, in
// at most [MaxKeyBlock] bytes besides the buffer, until it ends, and then
// written as one replacement. A BEGIN line whose block does not end within
// the bound with an END line of the same label, or whose body is not base64,
// holds nothing back for long: its lines are written as any other, with what
// the detectors find redacted.
//
// A Writer is safe for concurrent use; each Write is handled whole before the
// next. Close writes a line left without a newline; it does not close the
// underlying writer.
type Writer struct {
	mu     sync.Mutex
	r      *Redactor
	w      io.Writer
	size   int     // bound of buf
	tail   int     // bytes held back at a cut
	buf    []byte  // buf[:ctx] was written already; buf[ctx:] is pending
	ctx    int     // length of the context in buf
	out    []byte  // output scratch
	ms     []match // match scratch
	key    []byte  // a key block held from its BEGIN line, at most MaxKeyBlock bytes
	hold   bool    // key holds a block that has not ended yet
	plain  bool    // the current line starts no key block: it was held and was none
	drop   bool    // dropping the rest of a line
	closed bool
	err    error // first error from w
}

// NewWriter returns a Writer that redacts with r and writes to w. Both must
// be non-nil ([ErrNilArgument]).
func NewWriter(w io.Writer, r *Redactor, opts ...WriterOption) (*Writer, error) {
	if w == nil || r == nil {
		return nil, fmt.Errorf("%w: NewWriter needs a writer and a redactor", ErrNilArgument)
	}
	c := writerConfig{size: DefaultBufferSize}
	for _, o := range opts {
		if o != nil {
			o.applyWriter(&c)
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	return &Writer{r: r, w: w, size: c.size, tail: c.size / 4, buf: make([]byte, 0, c.size)}, nil
}

// Write redacts and writes every line that p completes and holds the rest.
// It returns len(p) unless the underlying writer failed, after which every
// Write returns that error.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	p = w.feed(p)
	if w.err != nil {
		return n - len(p), w.err
	}
	return n, nil
}

// feed takes p into the Writer and returns what it could not take because
// the underlying writer failed.
func (w *Writer) feed(p []byte) []byte {
	for len(p) > 0 && w.err == nil {
		nl := bytes.IndexByte(p, '\n')
		switch {
		case w.hold:
			take := len(p)
			if nl >= 0 {
				take = nl + 1
			}
			take = min(take, MaxKeyBlock+1-len(w.key))
			w.key = append(w.key, p[:take]...)
			p = p[take:]
			if w.key[len(w.key)-1] == '\n' || len(w.key) > MaxKeyBlock {
				w.settle(false)
			}
		case w.drop:
			if nl < 0 {
				return p[len(p):]
			}
			w.drop, w.plain = false, false
			w.emit(append(w.out[:0], '\n'))
			p = p[nl+1:]
		case len(w.buf) == 0 && nl >= 0 && nl <= w.size:
			w.line(p[:nl])
			p = p[nl+1:]
		case nl >= 0 && len(w.buf)+nl <= w.size:
			w.buf = append(w.buf, p[:nl]...)
			w.line(w.buf)
			w.buf, w.ctx = w.buf[:0], 0
			p = p[nl+1:]
		case len(w.buf) == w.size:
			w.cut()
		default:
			take := min(w.size-len(w.buf), len(p))
			w.buf = append(w.buf, p[:take]...)
			p = p[take:]
		}
	}
	return p
}

// settle decides on the key block held in w.key once a line of it is
// complete, or the input ends (final). A block that has ended is written as
// one replacement and what follows its END line is taken as new input. A
// block that is still good and within [MaxKeyBlock] stays held. Anything
// else was no key block: the held text is taken again as plain lines, its
// BEGIN line starting no block, so that only what the detectors match is
// removed from it.
func (w *Writer) settle(final bool) {
	e, open := pemAt(w.key, 0)
	switch {
	case e > 0 && !open:
		w.emit(w.r.replace(w.out[:0], w.key[:e], kPrivateKey, false))
		rest := bytes.Clone(w.key[e:])
		w.key, w.hold = w.key[:0], false
		w.feed(rest)
	case open && !final:
	default:
		held := bytes.Clone(w.key)
		w.key, w.hold, w.plain = w.key[:0], false, true
		w.feed(held)
	}
}

// Close writes the pending line, redacted and without a newline, and stops
// the Writer: later writes fail with [ErrClosed]. A key block the input ended
// inside was no key block: its lines are written as other lines are. Close
// returns the first error of the underlying writer. Calling Close again does
// nothing.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.hold && w.err == nil {
		w.settle(true)
	}
	if w.err == nil && !w.drop && len(w.buf) > w.ctx {
		ms := w.r.scan(w.buf, w.ms[:0], false)
		w.emit(w.r.render(w.out[:0], w.buf, ms, w.ctx, len(w.buf)))
		w.ms = ms[:0]
	}
	w.buf, w.key = nil, nil
	return w.err
}

func (w *Writer) emit(b []byte) {
	w.out = b[:0]
	if w.err != nil || len(b) == 0 {
		return
	}
	if _, err := w.w.Write(b); err != nil {
		w.err = err
	}
}

// line redacts and writes one complete line, b without its newline. When the
// line began before a cut, b is w.buf and b[:w.ctx] is context. A key block
// that the line ends inside is held from its BEGIN on, in w.key.
func (w *Writer) line(b []byte) {
	from := w.ctx
	ms := w.r.scan(b, w.ms[:0], !w.plain)
	w.plain = false
	defer func() { w.ms = ms[:0] }()
	if k := len(ms) - 1; k >= 0 && ms[k].open {
		st := max(ms[k].start, from)
		w.emit(w.r.render(w.out[:0], b, ms[:k], from, st))
		w.key = append(append(w.key[:0], b[st:]...), '\n')
		w.hold = true
		return
	}
	w.emit(append(w.r.render(w.out[:0], b, ms, from, len(b)), '\n'))
}

// cut writes the first part of a full buffer that holds no newline.
func (w *Writer) cut() {
	buf := w.buf
	ms := w.r.scan(buf, w.ms[:0], !w.plain)
	defer func() { w.ms = ms[:0] }()
	if k := len(ms) - 1; k >= 0 && ms[k].open {
		// A key block: write up to it and hold it.
		st := max(ms[k].start, w.ctx)
		w.emit(w.r.render(w.out[:0], buf, ms[:k], w.ctx, st))
		w.key = append(w.key[:0], buf[st:]...)
		w.hold = true
		w.buf, w.ctx = buf[:0], 0
		return
	}
	c := len(buf) - w.tail
	for k := len(ms) - 1; k >= 0; k-- {
		if m := ms[k]; m.ctx < c && c < m.end {
			c = m.ctx
		}
	}
	if c <= w.ctx {
		// One match reaches from the context to past where a cut could go.
		// Write up to its end if it ends in the buffer, or drop the rest of
		// the line.
		for _, m := range ms {
			if m.end <= w.ctx {
				continue
			}
			if m.end < len(buf) {
				c = m.end
				for _, m2 := range ms {
					if m2.ctx < c && c < m2.end {
						c = -1
						break
					}
				}
			} else {
				c = -1
			}
			if c < 0 {
				w.emit(w.r.render(w.out[:0], buf, ms, w.ctx, m.end))
				w.drop = true
				w.buf, w.ctx = buf[:0], 0
				return
			}
			break
		}
		if c <= w.ctx { // no match at all: cannot happen, but never loop
			c = len(buf)
		}
	}
	w.emit(w.r.render(w.out[:0], buf, ms, w.ctx, c))
	keep := max(0, c-lookbehind)
	w.buf = buf[:copy(buf, buf[keep:])]
	w.ctx = c - keep
}

// String returns [Marker]: a Writer holds text not yet redacted.
func (w *Writer) String() string { return Marker }

// GoString returns [Marker].
func (w *Writer) GoString() string { return Marker }

// Format writes [Marker] for every verb.
func (w *Writer) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Marker)) }

// LogValue returns [Marker].
func (w *Writer) LogValue() slog.Value { return slog.StringValue(Marker) }
