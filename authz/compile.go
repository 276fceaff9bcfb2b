package authz

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/ztkit/ztkit/authn"
)

// compiled is an immutable, indexed policy. Engines swap whole values.
type compiled struct {
	rules  []crule
	index  trie
	acr    map[string]int
	shadow bool
	file   string
}

// crule is a compiled rule.
type crule struct {
	id        string
	effect    Effect
	shadow    bool
	peers     idMatcher
	workloads idMatcher
	actors    idMatcher
	clients   []string
	kind      KindRequirement
	allScopes []string
	anyScopes []string
	roles     []string
	groups    []string
	minACR    int      // -1 when unset
	acrValues []string // acr_levels from minACR up, the acceptable acr values; nil when unset
	amr       []string
	maxAge    time.Duration
	binding   BindingRequirement
}

// idMatcher matches SPIFFE IDs; the zero value matches nothing and is empty.
type idMatcher struct {
	exact    []spiffeid.ID
	domains  []spiffeid.TrustDomain
	prefixes []idPattern
	globs    []idPattern
}

type idPattern struct {
	td spiffeid.TrustDomain
	p  string
}

func (m *idMatcher) empty() bool {
	return len(m.exact)+len(m.domains)+len(m.prefixes)+len(m.globs) == 0
}

func (m *idMatcher) match(id spiffeid.ID) bool {
	if id.IsZero() {
		return false
	}
	if slices.Contains(m.exact, id) {
		return true
	}
	td := id.TrustDomain()
	if slices.Contains(m.domains, td) {
		return true
	}
	p := id.Path()
	for _, x := range m.prefixes {
		if x.td == td && (p == x.p || (len(p) > len(x.p) && p[len(x.p)] == '/' && strings.HasPrefix(p, x.p))) {
			return true
		}
	}
	for _, x := range m.globs {
		if x.td == td {
			if ok, _ := path.Match(x.p, p); ok {
				return true
			}
		}
	}
	return false
}

func (m *idMatcher) add(s string) error {
	rest, ok := strings.CutPrefix(s, "spiffe://")
	if !ok {
		return fmt.Errorf("%w: %q is not a spiffe:// ID", ErrInvalidMatch, s)
	}
	tdName, p, hasPath := strings.Cut(rest, "/")
	td, err := spiffeid.TrustDomainFromString(tdName)
	if err != nil {
		return fmt.Errorf("%w: %q: %v", ErrInvalidMatch, s, err)
	}
	if hasPath {
		p = "/" + p
	}
	switch {
	case p == "" || p == "/**":
		m.domains = append(m.domains, td)
	case strings.HasSuffix(p, "/**"):
		pre := strings.TrimSuffix(p, "/**")
		if err := spiffeid.ValidatePath(pre); err != nil {
			return fmt.Errorf("%w: %q: %v", ErrInvalidMatch, s, err)
		}
		m.prefixes = append(m.prefixes, idPattern{td, pre})
	case strings.ContainsAny(p, "*?[\\"):
		if _, err := path.Match(p, ""); err != nil || strings.Contains(p, "**") {
			return fmt.Errorf("%w: %q: bad glob (\"**\" is allowed only as a final /**)", ErrInvalidMatch, s)
		}
		m.globs = append(m.globs, idPattern{td, p})
	default:
		id, err := spiffeid.FromPath(td, p)
		if err != nil {
			return fmt.Errorf("%w: %q: %v", ErrInvalidMatch, s, err)
		}
		m.exact = append(m.exact, id)
	}
	return nil
}

// compile validates p and builds its index, collecting every problem.
func compile(p *Policy) (*compiled, error) {
	c := &compiled{acr: make(map[string]int, len(p.ACRLevels)), shadow: p.Shadow, file: p.file}
	var errs []error
	fail := func(i int, id, field string, err error) {
		pe := &PolicyError{File: p.file, Index: i, RuleID: id, Field: field, Err: err}
		if i >= 0 && i < len(p.lines) {
			pe.Line = p.lines[i] // Parse moves it to the field's line
		}
		errs = append(errs, pe)
	}
	for i, a := range p.ACRLevels {
		if a == "" {
			fail(-1, "", fmt.Sprintf("acr_levels[%d]", i), fmt.Errorf("%w: empty acr", ErrInvalidMatch))
		} else if _, dup := c.acr[a]; dup {
			fail(-1, "", fmt.Sprintf("acr_levels[%d]", i), fmt.Errorf("%w: duplicate acr %q", ErrInvalidMatch, a))
		} else if !challengeToken(a) {
			fail(-1, "", fmt.Sprintf("acr_levels[%d]", i), fmt.Errorf("%w: acr %q: want printable ASCII without space, '\"' or '\\', as an RFC 9470 acr_values entry", ErrInvalidMatch, a))
		}
		c.acr[a] = i
	}
	if len(p.Rules) == 0 {
		fail(-1, "", "rules", ErrNoRules)
	}
	ids := make(map[string]bool, len(p.Rules))
	c.rules = make([]crule, len(p.Rules))
	for i := range p.Rules {
		r := &p.Rules[i]
		n := len(errs)
		if r.ID == "" || ids[r.ID] {
			fail(i, r.ID, "id", ErrDuplicateRuleID)
		}
		ids[r.ID] = true
		if r.Effect != Allow && r.Effect != Forbid {
			fail(i, r.ID, "effect", ErrInvalidEffect)
		}
		if len(r.Routes) == 0 {
			fail(i, r.ID, "routes", fmt.Errorf("%w: a rule needs at least one route", ErrInvalidRoute))
		}
		m := &r.Match
		if r.Effect == Allow && !m.AnyPrincipal && m.empty() {
			fail(i, r.ID, "match", ErrEmptyMatch)
		}
		cr := crule{
			id: r.ID, effect: r.Effect, shadow: r.Shadow, kind: m.Kind, binding: m.Binding,
			clients: slices.Clone(m.ClientIDs), allScopes: slices.Clone(m.AllScopes), anyScopes: slices.Clone(m.AnyScopes),
			roles: slices.Clone(m.Roles), groups: slices.Clone(m.Groups), amr: slices.Clone(m.AMR),
			maxAge: time.Duration(m.MaxAuthAge), minACR: -1,
		}
		for j, s := range m.Peers {
			if err := cr.peers.add(s); err != nil {
				fail(i, r.ID, fmt.Sprintf("match.peers[%d]", j), err)
			}
		}
		for j, s := range m.Workloads {
			if err := cr.workloads.add(s); err != nil {
				fail(i, r.ID, fmt.Sprintf("match.workloads[%d]", j), err)
			}
		}
		for j, s := range m.Actors {
			if err := cr.actors.add(s); err != nil {
				fail(i, r.ID, fmt.Sprintf("match.actors[%d]", j), err)
			}
		}
		if m.Kind > RequireUser {
			fail(i, r.ID, "match.kind", fmt.Errorf("%w: kind %d", ErrInvalidMatch, m.Kind))
		}
		if m.Binding > RequireBound {
			fail(i, r.ID, "match.binding", fmt.Errorf("%w: binding %d", ErrInvalidMatch, m.Binding))
		}
		if m.MaxAuthAge < 0 {
			fail(i, r.ID, "match.max_auth_age", fmt.Errorf("%w: negative max_auth_age", ErrInvalidMatch))
		}
		if m.MinACR != "" {
			lvl, ok := c.acr[m.MinACR]
			if !ok {
				fail(i, r.ID, "match.min_acr", fmt.Errorf("%w: %q", ErrUnknownACR, m.MinACR))
			}
			cr.minACR = lvl
			if ok {
				cr.acrValues = slices.Clone(p.ACRLevels[lvl:])
			}
		}
		for _, list := range [][]string{m.ClientIDs, m.AllScopes, m.AnyScopes, m.Roles, m.Groups, m.AMR} {
			if slices.Contains(list, "") {
				fail(i, r.ID, "match", fmt.Errorf("%w: empty value in a list", ErrInvalidMatch))
				break
			}
		}
		routes := make([]route, 0, len(r.Routes))
		for j, s := range r.Routes {
			rt, err := parseRoute(s)
			if err != nil {
				fail(i, r.ID, fmt.Sprintf("routes[%d]", j), err)
				continue
			}
			routes = append(routes, rt)
		}
		c.rules[i] = cr
		if len(errs) > n {
			continue
		}
		for _, rt := range routes {
			nd := c.index.insert(rt)
			switch {
			case cr.shadow:
				nd.shadow = appendOnce(nd.shadow, int32(i))
			case cr.effect == Forbid:
				nd.forbid = appendOnce(nd.forbid, int32(i))
			default:
				nd.allow = appendOnce(nd.allow, int32(i))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func appendOnce(s []int32, v int32) []int32 {
	if len(s) > 0 && s[len(s)-1] == v {
		return s
	}
	return append(s, v)
}

// Stages rank how close a failed rule came to matching, so a denial reports
// the most useful reason: a caller with the right identity but too few scopes
// gets insufficient_scope, not peer_mismatch from an unrelated rule.
const (
	stageIdentity = iota + 1
	stageBinding
	stageStrength
	stageRoles
	stageScopes
)

// eval reports whether r matches p and, if not, why and at which stage.
func (c *compiled) eval(r *crule, p *authn.Principal, now func() time.Time) (Reason, int) {
	if !r.peers.empty() && !r.peers.match(p.Peer) {
		return ReasonPeerMismatch, stageIdentity
	}
	if !r.workloads.empty() && !r.workloads.match(p.Workload) {
		return ReasonWorkloadMismatch, stageIdentity
	}
	if !r.actors.empty() && !r.actors.match(p.ActorID()) {
		return ReasonActorMismatch, stageIdentity
	}
	if len(r.clients) > 0 && (p.ClientID == "" || !slices.Contains(r.clients, p.ClientID)) {
		return ReasonClientMismatch, stageIdentity
	}
	switch r.kind {
	case RequireWorkload:
		if p.Kind != authn.WorkloadKind {
			return ReasonKindMismatch, stageIdentity
		}
	case RequireUser:
		if p.Kind != authn.UserKind {
			return ReasonKindMismatch, stageIdentity
		}
	}
	switch r.binding {
	case RequireDPoP:
		if p.Binding != authn.BoundToDPoPKey {
			return ReasonBindingRequired, stageBinding
		}
	case RequireMTLS:
		if p.Binding != authn.BoundToCertificate {
			return ReasonBindingRequired, stageBinding
		}
	case RequireBound:
		if p.Binding != authn.BoundToDPoPKey && p.Binding != authn.BoundToCertificate {
			return ReasonBindingRequired, stageBinding
		}
	}
	if r.minACR >= 0 {
		lvl, ok := c.acr[p.ACR]
		if !ok || lvl < r.minACR {
			return ReasonInsufficientACR, stageStrength
		}
	}
	for _, m := range r.amr {
		if !slices.Contains(p.AMR, m) {
			return ReasonInsufficientAMR, stageStrength
		}
	}
	if r.maxAge > 0 {
		if p.AuthTime.IsZero() || now().Sub(p.AuthTime) > r.maxAge {
			return ReasonAuthTooOld, stageStrength
		}
	}
	if len(r.roles) > 0 && !containsAny(p.Roles, r.roles) {
		return ReasonMissingRole, stageRoles
	}
	if len(r.groups) > 0 && !containsAny(p.Groups, r.groups) {
		return ReasonMissingGroup, stageRoles
	}
	for _, s := range r.allScopes {
		if !slices.Contains(p.Scopes, s) {
			return ReasonInsufficientScope, stageScopes
		}
	}
	if len(r.anyScopes) > 0 && !containsAny(p.Scopes, r.anyScopes) {
		return ReasonInsufficientScope, stageScopes
	}
	return "", 0
}

func containsAny(have, want []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

// stepUp sets, on the denial d for a condition a new authentication can
// meet (reason insufficient_acr or auth_too_old), what r requires of it:
// the acceptable acr values and the maximum authentication age.
func (r *crule) stepUp(d *Decision) {
	d.ACRValues = slices.Clone(r.acrValues)
	d.MaxAuthAge = Duration(r.maxAge)
}

// missingScopes lists the scopes r needs that p lacks: every missing
// AllScopes entry and, when none of AnyScopes is held, all of AnyScopes.
func (r *crule) missingScopes(p *authn.Principal) []string {
	var out []string
	for _, s := range r.allScopes {
		if !slices.Contains(p.Scopes, s) {
			out = append(out, s)
		}
	}
	if len(r.anyScopes) > 0 && !containsAny(p.Scopes, r.anyScopes) {
		out = append(out, r.anyScopes...)
	}
	return out
}

// challengeToken reports whether an acr value can be one entry of the
// space-separated acr_values of an RFC 9470 §3 challenge: 1*NQCHAR
// without the space (%x21 / %x23-5B / %x5D-7E). Any other would be
// dropped from the step-up challenge or split, asking for something else.
func challengeToken(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
