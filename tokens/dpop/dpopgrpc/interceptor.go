package dpopgrpc

import (
	"context"
	"errors"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ztkit/ztkit/tokens/dpop"
)

// UnaryClientInterceptor returns the interceptor that learns the server's
// nonces from every response's "dpop-nonce" metadata and, when a call is
// refused with the use_dpop_nonce challenge and a new nonce, sends it once
// more with a fresh proof carrying that nonce. The second outcome is
// returned as it is. The interceptor does nothing for calls that do not use
// c (installed with grpc.WithPerRPCCredentials or as a call option).
func (c *PerRPCCredentials) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		attempt := func() (bool, error) {
			st := &callState{}
			var hdr, trl metadata.MD
			callOpts := append(opts[:len(opts):len(opts)], grpc.Header(&hdr), grpc.Trailer(&trl))
			err := invoker(context.WithValue(ctx, stateKey{c}, st), method, req, reply, cc, callOpts...)
			retry := c.observe(st, err, hdr, trl)
			return retry, c.callError(st, err)
		}
		retry, err := attempt()
		if retry {
			_, err = attempt()
		}
		return err
	}
}

// observe learns the nonce of a response whose header and trailer metadata
// are hdr and trl, and reports whether the call is to be retried: it was
// refused with the use_dpop_nonce challenge and a new nonce.
func (c *PerRPCCredentials) observe(st *callState, err error, hdr, trl metadata.MD) bool {
	origin, sent, credErr := st.get()
	if origin == "" || credErr != nil {
		return false // the credentials made no proof for this call
	}
	fresh := c.nonces.Update(origin, sent, nonceOf(hdr, trl))
	return fresh != "" && isNonceChallenge(err, hdr, trl)
}

// nonceOf is the response's "dpop-nonce": the trailer's, else the
// header's. Two different values in one of them are ambiguous and ignored.
func nonceOf(hdr, trl metadata.MD) string {
	for _, md := range []metadata.MD{trl, hdr} {
		vs := md.Get(nonceKey)
		if len(vs) == 0 {
			continue
		}
		for _, v := range vs[1:] {
			if v != vs[0] {
				return ""
			}
		}
		return vs[0]
	}
	return ""
}

// isNonceChallenge recognises the use_dpop_nonce refusal (RFC 9449 §9): the
// [Advise] of the call is [dpop.ActionRetryWithNonce].
func isNonceChallenge(err error, hdr, trl metadata.MD) bool {
	adv, aerr := Advise(err, hdr, trl)
	return aerr == nil && adv.Action == dpop.ActionRetryWithNonce
}

// callError is err, the call's outcome, made to match the credentials' own
// error when they refused to make metadata, which grpc-go passes on as text
// only.
func (c *PerRPCCredentials) callError(st *callState, err error) error {
	if err == nil {
		return nil
	}
	if _, _, credErr := st.get(); credErr != nil {
		return &statusError{err: credErr, st: status.Convert(err)}
	}
	return err
}

// StreamClientInterceptor returns the interceptor that learns the server's
// nonces from a stream's "dpop-nonce" header and trailer metadata and, when
// the stream is refused with the use_dpop_nonce challenge and a new nonce
// before the client sent a message, opens it again once with a fresh proof
// carrying that nonce. A stream refused so after a message was sent returns
// an error that is the server's status and matches
// [ErrNonceRetryImpossible]. The interceptor does nothing for streams that
// do not use c.
func (c *PerRPCCredentials) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		open := func() (grpc.ClientStream, *callState, error) {
			st := &callState{}
			cs, err := streamer(context.WithValue(ctx, stateKey{c}, st), desc, cc, method, opts...)
			return cs, st, err
		}
		cs, st, err := open()
		if err != nil {
			return nil, c.callError(st, err)
		}
		if origin, _, _ := st.get(); origin == "" {
			return cs, nil // the stream does not use c: nothing to learn or retry
		}
		return &stream{c: c, open: open, cs: cs, st: st}, nil
	}
}

// stream is a client stream that can be opened again, once, until the
// client sends its first message.
type stream struct {
	c    *PerRPCCredentials
	open func() (grpc.ClientStream, *callState, error)

	mu        sync.Mutex
	cs        grpc.ClientStream
	st        *callState
	sent      bool // a message was sent: no retry
	closeSend bool // CloseSend was called before any message
	retried   bool
	observed  bool // the header's nonce was learnt
}

func (s *stream) current() (grpc.ClientStream, *callState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cs, s.st
}

// Header implements grpc.ClientStream. When the stream ended without a
// header (grpc-go then returns no header and no error, and keeps the status
// for RecvMsg), its status is read to see whether it was refused for a
// nonce; Header then still returns no header and no error, as grpc-go does,
// unless the stream was opened again.
func (s *stream) Header() (metadata.MD, error) {
	var md metadata.MD
	ended := false
	err := s.do(func(cs grpc.ClientStream) error {
		var err error
		md, err = cs.Header()
		ended = md == nil && err == nil
		if ended {
			// No message can follow a trailers-only response: RecvMsg
			// returns the status at once and decodes nothing.
			if err := cs.RecvMsg(&endedStream{}); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
		}
		return err
	})
	if ended {
		return nil, nil
	}
	return md, err
}

// endedStream is the message RecvMsg is given on a stream that has ended;
// it is never decoded into.
type endedStream struct{}

// RecvMsg implements grpc.ClientStream.
func (s *stream) RecvMsg(m any) error {
	return s.do(func(cs grpc.ClientStream) error { return cs.RecvMsg(m) })
}

// SendMsg implements grpc.ClientStream; after it, the stream is no longer
// opened again.
func (s *stream) SendMsg(m any) error {
	s.mu.Lock()
	s.sent = true
	cs := s.cs
	s.mu.Unlock()
	return cs.SendMsg(m)
}

// CloseSend implements grpc.ClientStream; a stream opened again is closed
// for sending too.
func (s *stream) CloseSend() error {
	s.mu.Lock()
	if !s.sent {
		s.closeSend = true
	}
	cs := s.cs
	s.mu.Unlock()
	return cs.CloseSend()
}

// Trailer implements grpc.ClientStream.
func (s *stream) Trailer() metadata.MD {
	cs, _ := s.current()
	return cs.Trailer()
}

// Context implements grpc.ClientStream.
func (s *stream) Context() context.Context {
	cs, _ := s.current()
	return cs.Context()
}

// do runs op, a receiving operation, on the current stream and learns the
// nonce of what it saw. When op saw the stream refused with the
// use_dpop_nonce challenge, the stream is opened again and op run on the
// new one, if nothing was sent and it was not opened again already.
func (s *stream) do(op func(grpc.ClientStream) error) error {
	cs, st := s.current()
	err := op(cs)
	if err == nil {
		s.observeHeader(cs, st)
		return nil
	}
	if errors.Is(err, io.EOF) {
		s.c.observe(st, nil, nil, cs.Trailer())
		return err
	}
	hdr, _ := headerIfReady(cs)
	if !s.c.observe(st, err, hdr, cs.Trailer()) {
		return s.c.callError(st, err)
	}
	s.mu.Lock()
	if s.cs != cs { // another receiver already opened it again
		next := s.cs
		s.mu.Unlock()
		return op(next)
	}
	if s.sent || s.retried {
		s.mu.Unlock()
		if s.sent && !s.retried {
			return &statusError{err: ErrNonceRetryImpossible, st: status.Convert(err)}
		}
		return err
	}
	s.retried = true
	next, nst, oerr := s.open()
	if oerr != nil {
		s.mu.Unlock()
		return s.c.callError(nst, oerr)
	}
	if s.closeSend {
		_ = next.CloseSend()
	}
	s.cs, s.st, s.observed = next, nst, false
	s.mu.Unlock()

	err = op(next)
	switch {
	case err == nil:
		s.observeHeader(next, nst)
	case errors.Is(err, io.EOF):
		s.c.observe(nst, nil, nil, next.Trailer())
	default:
		hdr, _ := headerIfReady(next)
		s.c.observe(nst, err, hdr, next.Trailer())
		err = s.c.callError(nst, err)
	}
	return err
}

// observeHeader learns the nonce of cs's header, once, after an operation
// that received it succeeded.
func (s *stream) observeHeader(cs grpc.ClientStream, st *callState) {
	s.mu.Lock()
	done := s.observed || s.cs != cs
	s.observed = true
	s.mu.Unlock()
	if done {
		return
	}
	if hdr, err := headerIfReady(cs); err == nil {
		s.c.observe(st, nil, hdr, nil)
	}
}

// headerIfReady returns cs's header after a receiving operation returned,
// when the header has arrived (Header then does not block).
func headerIfReady(cs grpc.ClientStream) (metadata.MD, error) {
	return cs.Header()
}
