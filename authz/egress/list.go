package egress

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// List is a compiled allow-list of destinations. Create it with [NewList];
// it is immutable and safe for concurrent use, and one List may serve
// several [Dialer] values. The zero value allows nothing. To change the
// destinations of a running service, build a new List, Dialer and
// Transport and swap them in; the old Transport's pooled connections stay
// usable until its CloseIdleConnections.
type List struct {
	rules []*rule
	exact map[ruleKey]*rule
	wild  map[ruleKey]*rule // keyed by the suffix after "*."
}

type ruleKey struct {
	scheme string
	host   string
	port   int
}

// rule is one compiled destination.
type rule struct {
	dest  Destination // normalised; Networks owned by the list
	ip    netip.Addr  // the host, when it is an IP literal
	index int         // position in the list
}

// NewList validates and compiles dests. It fails with an error matching
// [ErrInvalidDestination] for a destination without a valid host, with a
// scheme other than https or http, a port outside 1-65535, a Server on a
// plaintext destination, an invalid network, an IP literal outside its own
// Networks, or the same scheme, host and port twice. An empty list is valid
// and allows nothing. dests are copied.
func NewList(dests ...Destination) (*List, error) {
	l := &List{
		exact: make(map[ruleKey]*rule, len(dests)),
		wild:  make(map[ruleKey]*rule),
	}
	for i, d := range dests {
		r, err := compile(d)
		if err != nil {
			return nil, fmt.Errorf("%w: destination %d (%s): %s", ErrInvalidDestination, i, d.String(), err.Error())
		}
		r.index = i
		m, key := l.exact, ruleKey{r.dest.Scheme, r.dest.Host, r.dest.Port}
		if suffix, ok := strings.CutPrefix(r.dest.Host, "*."); ok {
			m, key.host = l.wild, suffix
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("%w: destination %d (%s): listed twice", ErrInvalidDestination, i, r.dest.String())
		}
		m[key] = r
		l.rules = append(l.rules, r)
	}
	return l, nil
}

// compile normalises one destination.
func compile(d Destination) (*rule, error) {
	switch d.Scheme {
	case "":
		d.Scheme = SchemeHTTPS
	case SchemeHTTPS, SchemeHTTP:
	default:
		return nil, fmt.Errorf(`scheme must be "https" or "http"`)
	}
	if d.Port == 0 {
		d.Port = defaultPort(d.Scheme)
	}
	if d.Port < 1 || d.Port > 65535 {
		return nil, fmt.Errorf("port must be 1-65535")
	}
	host, ok := normalizeListHost(d.Host)
	if !ok {
		return nil, fmt.Errorf("invalid host")
	}
	d.Host = host
	if d.Server != nil && d.Scheme != SchemeHTTPS {
		return nil, fmt.Errorf("a SPIFFE server identity needs https")
	}
	r := &rule{}
	if !strings.HasPrefix(host, "*.") {
		r.ip, _ = netip.ParseAddr(host) // normalised: parses iff it is an IP literal
	}
	d.Networks = slices.Clone(d.Networks)
	for i, p := range d.Networks {
		if !p.IsValid() || p.Addr().Zone() != "" || p.Addr().Is4In6() {
			return nil, fmt.Errorf("networks[%d] is not a valid prefix", i)
		}
		d.Networks[i] = p.Masked()
	}
	if r.ip.IsValid() && len(d.Networks) > 0 && !containsAddr(d.Networks, r.ip) {
		return nil, fmt.Errorf("the IP literal host is outside its own networks")
	}
	r.dest = d
	return r, nil
}

// Destinations returns a copy of the list's destinations, normalised, in the
// order given to [NewList].
func (l *List) Destinations() []Destination {
	if l == nil {
		return nil
	}
	out := make([]Destination, len(l.rules))
	for i, r := range l.rules {
		out[i] = r.copyDest()
	}
	return out
}

// Match returns the listed destination that an endpoint for scheme and
// hostport ("api.stripe.com", "api.stripe.com:443") would be dialed under:
// the exact host if listed, else a matching wildcard. It makes no
// connection and resolves no name. A refusal is a [*DestinationError]
// matching [ErrDestinationNotAllowed].
func (l *List) Match(scheme, hostport string) (Destination, error) {
	ep, err := ParseEndpoint(scheme, hostport)
	if err != nil {
		return Destination{}, err
	}
	r, err := l.match(ep)
	if err != nil {
		return Destination{}, err
	}
	return r.copyDest(), nil
}

// match finds the rule for a normalised endpoint.
func (l *List) match(ep Endpoint) (*rule, error) {
	if l != nil {
		key := ruleKey{ep.Scheme, ep.Host, ep.Port}
		if r, ok := l.exact[key]; ok {
			return r, nil
		}
		if len(l.wild) > 0 && !isIPLiteral(ep.Host) {
			if _, suffix, ok := strings.Cut(ep.Host, "."); ok {
				key.host = suffix
				if r, ok := l.wild[key]; ok {
					return r, nil
				}
			}
		}
	}
	return nil, refusal(ep.Scheme, ep.Host, ep.Port, ReasonNotListed)
}

func (r *rule) copyDest() Destination {
	d := r.dest
	d.Networks = slices.Clone(d.Networks)
	return d
}

// isIPLiteral reports whether a normalised host is an IP address; DNS names
// this package accepts never contain ':' and never end in a numeric label.
func isIPLiteral(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}
