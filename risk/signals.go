package risk

import (
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/ztkit/ztkit/authn"
)

// Signals is what [Engine.Decide] knows about one attempt at an action:
// the verified principal, and what only the service knows (the amount, the
// customer's history, whether the card or address is new). Fields left
// zero mean "not known"; each condition documents how it reads a missing
// signal, failing closed where an attacker could simply omit it.
type Signals struct {
	// Principal is the authenticated caller: its ACR, AuthTime, Binding
	// and KeyThumbprint (the DPoP key, which identifies the device) are
	// read. nil is an unauthenticated caller: no acr, no auth_time, no
	// device.
	Principal *authn.Principal
	// Customer keys the customer's velocity counters; empty: the
	// Principal's Subject. It is never logged.
	Customer string
	// Amount is in the currency's minor units (cents); Currency is its
	// ISO 4217 code, such as "EUR".
	Amount   int64
	Currency string
	// History summarises the customer's past, as the service knows it.
	History History
	// NewPaymentMethod and NewShippingAddress report that the action uses
	// a payment method or a shipping address the customer has not used.
	NewPaymentMethod   bool
	NewShippingAddress bool
	// Card is the payment card's fingerprint (never its number), keying
	// card velocity. Empty: no card.
	Card string
	// IP is the client's address; its prefix (/24 for IPv4, /48 for IPv6)
	// keys IP velocity. The zero Addr: unknown.
	IP netip.Addr
	// Location and LastLocation, when both are set, give the geo-velocity
	// of travel_over_kmh: the customer's location now and at the last
	// known authentication or order.
	Location, LastLocation Location
	// Numbers and Flags are service-defined signals, by the names the
	// policy's number and flag conditions use.
	Numbers map[string]float64
	Flags   map[string]bool
}

// History summarises a customer's past for [Signals].
type History struct {
	// Orders counts the customer's previous completed orders.
	Orders int
	// MaxAmount is the largest previous order, in the minor units of
	// the current Signals.Currency.
	MaxAmount int64
	// Devices are the DPoP key thumbprints (RFC 7638) the customer has
	// used before. A key not among them is a new device.
	Devices []string
}

// Location is where a customer was at a time. Its zero value is unknown.
type Location struct {
	// Lat and Lon are in degrees (WGS 84).
	Lat, Lon float64
	At       time.Time
}

// IsZero reports whether l is unknown.
func (l Location) IsZero() bool { return l.At.IsZero() }

// newDevice reports whether the caller's device is not a known one.
func (s *Signals) newDevice() bool {
	p := s.Principal
	if p == nil || p.KeyThumbprint == "" {
		return true
	}
	return !slices.Contains(s.History.Devices, p.KeyThumbprint)
}

func (s *Signals) customer() string {
	if s.Customer != "" {
		return s.Customer
	}
	if s.Principal != nil {
		return s.Principal.Subject
	}
	return ""
}

// ipPrefix is the IP velocity key: the /24 or /48 containing IP, or "".
func (s *Signals) ipPrefix() string {
	if !s.IP.IsValid() {
		return ""
	}
	ip := s.IP.Unmap()
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// speedKmh is the speed between LastLocation and Location, +Inf when
// they are apart and no time passed; ok is false when either is unknown.
func (s *Signals) speedKmh() (v float64, ok bool) {
	a, b := s.LastLocation, s.Location
	if a.IsZero() || b.IsZero() {
		return 0, false
	}
	d := haversineKm(a.Lat, a.Lon, b.Lat, b.Lon)
	h := b.At.Sub(a.At).Hours()
	if h <= 0 {
		if d < 1 {
			return 0, true
		}
		return math.Inf(1), true
	}
	return d / h, true
}

func haversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0088 // mean Earth radius, km
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(min(1, a)))
}
