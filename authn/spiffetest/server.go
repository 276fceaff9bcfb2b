package spiffetest

import (
	"context"
	"crypto/x509"

	"github.com/spiffe/go-spiffe/v2/proto/spiffe/workload"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

// The metadata every Workload API call must carry, a hardening against
// server-side request forgery. Calls without it are refused with
// InvalidArgument (SPIFFE Workload Endpoint §3 and §6), as SPIRE does.
const (
	securityHeaderKey   = "workload.spiffe.io"
	securityHeaderValue = "true"
)

func (i *Issuer) checkHeader(ctx context.Context, method string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(securityHeaderKey); len(v) != 1 || v[0] != securityHeaderValue {
		i.cfg.log.Debug("spiffetest: refused call without security header", "method", method)
		return status.Error(codes.InvalidArgument, "security header missing from request")
	}
	return nil
}

func (i *Issuer) unaryHeaderCheck(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := i.checkHeader(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (i *Issuer) streamHeaderCheck(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := i.checkHeader(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return handler(srv, ss)
}

// identify returns a function yielding the caller's SPIFFE ID, or a
// PermissionDenied status when the caller has none. With an Attestor the ID is
// fixed for the call; without, it follows Register.
func (i *Issuer) identify(ctx context.Context) (func() (spiffeid.ID, error), error) {
	if a := i.cfg.attestor; a != nil {
		id, err := a(ctx)
		if err != nil {
			i.cfg.log.Debug("spiffetest: attestor refused caller", "error", err.Error())
			return nil, status.Error(codes.PermissionDenied, err.Error())
		}
		if err := i.checkID(id); err != nil {
			return nil, status.Errorf(codes.Internal, "attestor returned an unusable ID: %v", err)
		}
		return func() (spiffeid.ID, error) { return id, nil }, nil
	}
	registered := func() (spiffeid.ID, error) {
		i.mu.Lock()
		id := i.registered
		i.mu.Unlock()
		if id.IsZero() {
			return spiffeid.ID{}, status.Error(codes.PermissionDenied, ErrNoIdentity.Error()+": no identity registered")
		}
		return id, nil
	}
	if _, err := registered(); err != nil {
		return nil, err
	}
	return registered, nil
}

// stream sends the current state with send, then again after every change,
// until the client goes away or the issuer closes. Every message carries the
// full state (Workload API §4.3).
func (i *Issuer) stream(ctx context.Context, send func() error) error {
	for {
		changed := i.subscribe()
		if err := send(); err != nil {
			return err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-i.done:
			return status.Error(codes.Unavailable, ErrClosed.Error())
		}
	}
}

// x509Bundles returns the DER X.509 bundles keyed by trust domain ID
// ("spiffe://td"), the issuer's own when own is set, and each federated
// bundle that has X.509 authorities.
func (i *Issuer) x509Bundles(own bool) map[string][]byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	m := make(map[string][]byte, len(i.federated)+1)
	if own {
		m[i.td.IDString()] = i.ca.cert.Raw
	}
	for td, b := range i.federated {
		if auths := b.X509Authorities(); len(auths) > 0 {
			m[td.IDString()] = concatDER(auths)
		}
	}
	return m
}

// jwtBundles returns the JWKS bundles keyed by trust domain ID, the issuer's
// own and each federated bundle that has JWT authorities.
func (i *Issuer) jwtBundles() (map[string][]byte, error) {
	own, err := i.ca.bundle().JWTBundle().Marshal()
	if err != nil {
		return nil, err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	m := map[string][]byte{i.td.IDString(): own}
	for td, b := range i.federated {
		if len(b.JWTAuthorities()) == 0 {
			continue
		}
		raw, err := b.JWTBundle().Marshal()
		if err != nil {
			return nil, err
		}
		m[td.IDString()] = raw
	}
	return m, nil
}

func concatDER(certs []*x509.Certificate) []byte {
	var der []byte
	for _, c := range certs {
		der = append(der, c.Raw...)
	}
	return der
}

// workloadAPI implements spiffe.workload.SpiffeWorkloadAPI on an Issuer.
type workloadAPI struct {
	workload.UnimplementedSpiffeWorkloadAPIServer
	i *Issuer
}

// FetchX509SVID streams the caller's X509-SVID with its key, the issuer's
// bundle and the federated bundles (Workload API §5.2.1).
func (s *workloadAPI) FetchX509SVID(_ *workload.X509SVIDRequest, stream grpc.ServerStreamingServer[workload.X509SVIDResponse]) error {
	ctx := stream.Context()
	caller, err := s.i.identify(ctx)
	if err != nil {
		return err
	}
	return s.i.stream(ctx, func() error {
		id, err := caller()
		if err != nil {
			return err
		}
		svid, err := s.i.currentX509SVID(id)
		if err != nil {
			return status.Error(codes.Internal, err.Error())
		}
		key, err := x509.MarshalPKCS8PrivateKey(svid.PrivateKey)
		if err != nil {
			return status.Error(codes.Internal, "marshal X509-SVID key")
		}
		return stream.Send(&workload.X509SVIDResponse{
			Svids: []*workload.X509SVID{{
				SpiffeId:    id.String(),
				X509Svid:    concatDER(svid.Certificates),
				X509SvidKey: key,
				Bundle:      s.i.ca.cert.Raw,
			}},
			FederatedBundles: s.i.x509Bundles(false),
		})
	})
}

// FetchX509Bundles streams the issuer's and the federated X.509 bundles
// (Workload API §5.2.2).
func (s *workloadAPI) FetchX509Bundles(_ *workload.X509BundlesRequest, stream grpc.ServerStreamingServer[workload.X509BundlesResponse]) error {
	ctx := stream.Context()
	if _, err := s.i.identify(ctx); err != nil {
		return err
	}
	return s.i.stream(ctx, func() error {
		return stream.Send(&workload.X509BundlesResponse{Bundles: s.i.x509Bundles(true)})
	})
}

// FetchJWTBundles streams the issuer's and the federated JWT bundles as JWK
// Sets (Workload API §6.2.2).
func (s *workloadAPI) FetchJWTBundles(_ *workload.JWTBundlesRequest, stream grpc.ServerStreamingServer[workload.JWTBundlesResponse]) error {
	ctx := stream.Context()
	if _, err := s.i.identify(ctx); err != nil {
		return err
	}
	return s.i.stream(ctx, func() error {
		bundles, err := s.i.jwtBundles()
		if err != nil {
			return status.Error(codes.Internal, "marshal JWT bundles")
		}
		return stream.Send(&workload.JWTBundlesResponse{Bundles: bundles})
	})
}

// FetchJWTSVID issues a JWT-SVID for the caller's identity and the requested
// audience (Workload API §6.2.1). The audience is required; a spiffe_id other
// than the caller's is refused with PermissionDenied.
func (s *workloadAPI) FetchJWTSVID(ctx context.Context, req *workload.JWTSVIDRequest) (*workload.JWTSVIDResponse, error) {
	if err := checkAudience(req.GetAudience()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	var want spiffeid.ID
	if raw := req.GetSpiffeId(); raw != "" {
		var err error
		if want, err = spiffeid.FromString(raw); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "invalid spiffe_id: %v", err)
		}
	}
	caller, err := s.i.identify(ctx)
	if err != nil {
		return nil, err
	}
	id, err := caller()
	if err != nil {
		return nil, err
	}
	if !want.IsZero() && want != id {
		return nil, status.Errorf(codes.PermissionDenied, "%v: caller is not entitled to %q", ErrNoIdentity, want)
	}
	now := s.i.cfg.now()
	token, err := s.i.ca.signJWT(id, req.GetAudience(), now, now.Add(s.i.cfg.jwtTTL))
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &workload.JWTSVIDResponse{Svids: []*workload.JWTSVID{{SpiffeId: id.String(), Svid: token}}}, nil
}

// ValidateJWTSVID validates a JWT-SVID against the audience with the issuer's
// and the federated JWT bundles and the issuer's clock, and returns its
// SPIFFE ID and claims (Workload API §6.2.3). Any failure is InvalidArgument.
func (s *workloadAPI) ValidateJWTSVID(ctx context.Context, req *workload.ValidateJWTSVIDRequest) (*workload.ValidateJWTSVIDResponse, error) {
	switch {
	case req.GetAudience() == "":
		return nil, status.Error(codes.InvalidArgument, "audience must be specified")
	case req.GetSvid() == "":
		return nil, status.Error(codes.InvalidArgument, "svid must be specified")
	}
	if _, err := s.i.identify(ctx); err != nil {
		return nil, err
	}
	id, claims, err := validateJWTSVID(req.GetSvid(), req.GetAudience(), s.i.Bundles(), s.i.cfg.now())
	if err != nil {
		s.i.cfg.log.Debug("spiffetest: refused JWT-SVID", "reason", err.Error())
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	pb, err := structpb.NewStruct(claims)
	if err != nil {
		return nil, status.Error(codes.Internal, "encode claims")
	}
	return &workload.ValidateJWTSVIDResponse{SpiffeId: id.String(), Claims: pb}, nil
}
