package identity

import (
	"errors"
	"strings"
	"testing"
)

const (
	reviewer = "spiffe://cluster.local/ns/agents/sa/code-reviewer"
	waypoint = "spiffe://cluster.local/ns/agents/sa/waypoint"
	istio    = "By=" + waypoint + ";Hash=abc;Subject=\"\";URI=" + reviewer
)

func headers(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func TestNewResolver(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		err  string // substring; "" means valid
	}{
		{"all sources", Options{Sources: []Source{SourceXFCC, SourcePeer, SourceHeader}}, ""},
		{"custom header", Options{Sources: []Source{SourceHeader}, TrustHeader: "X-Agent"}, ""},
		{"no sources", Options{}, "no identity sources"},
		{"unknown source", Options{Sources: []Source{"jwt"}}, `unknown source "jwt"`},
		{"duplicate source", Options{Sources: []Source{SourceXFCC, SourceXFCC}}, "repeated"},
		{"bad header name", Options{Sources: []Source{SourceHeader}, TrustHeader: "x agent"}, "not a valid header name"},
		{"xfcc as trust header", Options{Sources: []Source{SourceHeader}, TrustHeader: XFCCHeader}, "must not be"},
		{"bad trust domain", Options{Sources: []Source{SourceXFCC}, TrustDomains: []string{"Cluster.Local"}}, "trust_domains[0]"},
		{"every error at once", Options{Sources: []Source{"a", "b"}, TrustDomains: []string{""}}, "sources[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewResolver(tt.o)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.err)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	all := Options{Sources: []Source{SourceXFCC, SourcePeer, SourceHeader}}
	tests := []struct {
		name    string
		o       Options
		req     Request
		want    Identity
		wantErr error // nil means success
	}{
		{"xfcc istio waypoint", all,
			Request{Header: headers(XFCCHeader, istio, "x-agent-id", "admin")},
			Identity{Source: SourceXFCC, SPIFFE: reviewer}, nil},
		{"xfcc uses the last element", all,
			Request{Header: headers(XFCCHeader, "URI=spiffe://evil.example/forged,"+istio)},
			Identity{Source: SourceXFCC, SPIFFE: reviewer}, nil},
		{"xfcc repeated identical URI", all,
			Request{Header: headers(XFCCHeader, "URI="+reviewer+";URI=http://x;URI="+reviewer)},
			Identity{Source: SourceXFCC, SPIFFE: reviewer}, nil},
		{"peer when no xfcc", all,
			Request{Header: headers("x-agent-id", "admin"), PeerURISANs: []string{"https://not-spiffe", reviewer}},
			Identity{Source: SourcePeer, SPIFFE: reviewer}, nil},
		{"header when nothing stronger", all,
			Request{Header: headers("x-agent-id", "code-reviewer.v2_1")},
			Identity{Source: SourceHeader, Name: "code-reviewer.v2_1"}, nil},
		{"order is the configured one", Options{Sources: []Source{SourceHeader, SourceXFCC}},
			Request{Header: headers(XFCCHeader, istio, "x-agent-id", "bot")},
			Identity{Source: SourceHeader, Name: "bot"}, nil},
		{"custom trust header", Options{Sources: []Source{SourceHeader}, TrustHeader: "X-Caller"},
			Request{Header: headers("x-caller", "bot", "x-agent-id", "other")},
			Identity{Source: SourceHeader, Name: "bot"}, nil},
		{"nothing present", all, Request{}, Identity{}, ErrNoIdentity},
		{"unconfigured source ignored", Options{Sources: []Source{SourceXFCC}},
			Request{Header: headers("x-agent-id", "bot"), PeerURISANs: []string{reviewer}}, Identity{}, ErrNoIdentity},

		// No downgrade: a present but bad source fails, it does not fall through.
		{"garbage xfcc does not fall to header", all,
			Request{Header: headers(XFCCHeader, "garbage", "x-agent-id", "admin")}, Identity{}, ErrMalformedXFCC},
		{"empty xfcc does not fall to peer", all,
			Request{Header: headers(XFCCHeader, ""), PeerURISANs: []string{reviewer}}, Identity{}, ErrMalformedXFCC},
		{"xfcc without client URI", all,
			Request{Header: headers(XFCCHeader, "By="+waypoint+";Hash=abc", "x-agent-id", "admin")}, Identity{}, ErrNoSPIFFEID},
		{"xfcc client URI only in an earlier element", all,
			Request{Header: headers(XFCCHeader, "URI="+reviewer+",By="+waypoint+";Hash=abc")}, Identity{}, ErrNoSPIFFEID},
		{"xfcc two different SPIFFE IDs", all,
			Request{Header: headers(XFCCHeader, "URI="+reviewer+";URI=spiffe://cluster.local/ns/agents/sa/admin")}, Identity{}, ErrAmbiguousIdentity},
		{"xfcc invalid SPIFFE ID", all,
			Request{Header: headers(XFCCHeader, "URI=spiffe://cluster.local/ns/../admin")}, Identity{}, ErrInvalidSPIFFEID},
		{"xfcc uppercase scheme is not hidden", all,
			Request{Header: headers(XFCCHeader, "URI=SPIFFE://cluster.local/ns/a;URI="+reviewer)}, Identity{}, ErrAmbiguousIdentity},
		{"peer without SPIFFE URI does not fall to header", all,
			Request{Header: headers("x-agent-id", "admin"), PeerURISANs: []string{"https://example.com"}}, Identity{}, ErrNoSPIFFEID},
		{"peer with two SPIFFE IDs", all,
			Request{PeerURISANs: []string{reviewer, waypoint}}, Identity{}, ErrAmbiguousIdentity},
		{"empty header name", all,
			Request{Header: headers("x-agent-id", "")}, Identity{}, ErrInvalidName},
		{"header name with bad characters", all,
			Request{Header: headers("x-agent-id", "admin,bot")}, Identity{}, ErrInvalidName},
		{"header name too long", all,
			Request{Header: headers("x-agent-id", strings.Repeat("a", 129))}, Identity{}, ErrInvalidName},

		// Trust domain filter.
		{"trusted domain", Options{Sources: []Source{SourceXFCC}, TrustDomains: []string{"example.org", "cluster.local"}},
			Request{Header: headers(XFCCHeader, istio)}, Identity{Source: SourceXFCC, SPIFFE: reviewer}, nil},
		{"untrusted domain", Options{Sources: []Source{SourceXFCC, SourceHeader}, TrustDomains: []string{"example.org"}},
			Request{Header: headers(XFCCHeader, istio, "x-agent-id", "bot")}, Identity{}, ErrUntrustedDomain},
		{"untrusted peer domain", Options{Sources: []Source{SourcePeer}, TrustDomains: []string{"example.org"}},
			Request{PeerURISANs: []string{reviewer}}, Identity{}, ErrUntrustedDomain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewResolver(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Resolve(tt.req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if got != (Identity{}) {
					t.Fatalf("identity %+v returned with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
