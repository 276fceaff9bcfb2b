package guardgrpc

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/ztkit/ztkit/authn"
	"github.com/ztkit/ztkit/guard"
)

// Interceptors are the gRPC server interceptors of one [guard.Guard]. They
// are safe for concurrent use.
type Interceptors struct {
	g   *guard.Guard
	cfg config
}

// New returns the interceptors that decide on every call with g. A nil g is
// refused with an error matching authn.ErrInvalidConfig.
func New(g *guard.Guard, opts ...Option) (*Interceptors, error) {
	if g == nil {
		return nil, fmt.Errorf("%w: guardgrpc: nil Guard", authn.ErrInvalidConfig)
	}
	c := config{exempt: map[string]struct{}{}}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return &Interceptors{g: g, cfg: c}, nil
}

// ServerOptions are the grpc.ServerOptions that chain both interceptors
// (grpc.ChainUnaryInterceptor, grpc.ChainStreamInterceptor), after any
// interceptor installed before them.
func (i *Interceptors) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(i.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(i.StreamServerInterceptor()),
	}
}

// UnaryServerInterceptor decides on each unary call before its handler
// runs: the handler is called with the [authn.Principal] in its context
// ([authn.PrincipalFromContext]), or the call fails with the status of the
// refusal (see the package documentation).
func (i *Interceptors) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if info == nil || handler == nil {
			return nil, i.Refuse(ctx, i.g.Reject(ctx, nil, "The call is missing."))
		}
		ctx, err := i.check(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor decides on each streaming call once, when it
// starts, before its handler runs: the handler's stream has the
// [authn.Principal] in its Context, or the call fails with the status of the
// refusal. Messages on the stream are not checked again.
func (i *Interceptors) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if ss == nil || info == nil || handler == nil {
			return Status(i.g.Reject(context.Background(), nil, "The call is missing.")).Err()
		}
		ctx, err := i.check(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		if ctx == ss.Context() {
			return handler(srv, ss)
		}
		return handler(srv, &stream{ServerStream: ss, ctx: ctx})
	}
}

// check decides on the call of fullMethod: the context for its handler, or
// the status error of its refusal.
func (i *Interceptors) check(ctx context.Context, fullMethod string) (context.Context, error) {
	if _, ok := i.cfg.exempt[fullMethod]; ok && ctx != nil {
		return ctx, nil
	}
	req := Request(ctx, fullMethod)
	if ctx == nil {
		return nil, Status(i.g.Reject(context.Background(), &req, "The call has no context.")).Err()
	}
	res := i.g.Check(ctx, &req)
	if res.Refusal != nil {
		return nil, i.Refuse(ctx, res.Refusal)
	}
	if n := i.g.Nonce(); n != "" {
		_ = grpc.SetHeader(ctx, metadata.Pairs(NonceKey, n))
	}
	return authn.NewContext(ctx, res.Principal), nil
}

// Refuse sends ref's nonce and challenges as trailer metadata of the call
// of ctx, when it has one, and returns its status error ([Status]): the
// answer the interceptors give a refused call, for a handler to return for
// the refusal of guard.Guard.CheckRisk. Nothing goes in
// header metadata: grpc-go sends header metadata in a header frame of its
// own, and a refusal must stay a trailers-only response, which a client
// sees as soon as it asks for the stream's header, before it sends a
// message. That is what lets dpopgrpc open a stream again, transparently,
// when it is refused for a nonce.
func (i *Interceptors) Refuse(ctx context.Context, ref *guard.Refusal) error {
	if ref == nil {
		return Status(nil).Err()
	}
	if ctx != nil {
		md := metadata.MD{}
		nonce := ref.Nonce
		if nonce == "" {
			nonce = i.g.Nonce()
		}
		if nonce != "" {
			md.Set(NonceKey, nonce)
		}
		if len(ref.Challenges) > 0 {
			md.Set(ChallengeKey, ref.Challenges...)
		}
		if len(md) > 0 {
			_ = grpc.SetTrailer(ctx, md)
		}
	}
	return Status(ref).Err()
}

// stream is a server stream whose context carries the principal.
type stream struct {
	grpc.ServerStream
	ctx context.Context
}

// Context returns the stream's context with the principal.
func (s *stream) Context() context.Context { return s.ctx }
