// Package identity finds out which agent sent a request.
//
// The strongest evidence is a SPIFFE ID: in an Istio ambient waypoint it
// arrives in the x-forwarded-client-cert (XFCC) header that the waypoint
// adds, and behind a standalone Envoy doing mTLS it is the peer
// certificate's URI SAN. Where the operator trusts the network in front of
// agentguard, a plain header may name the agent instead.
//
// In ambient mode the waypoint sends the client's identity in XFCC only
// when its Gateway carries the annotation
//
//	ambient.istio.io/xfcc-include-client-identity: "true"
//
// without it, the XFCC source finds no client SPIFFE ID and, being present,
// fails the request rather than fall back to a weaker source.
//
// A [Resolver] tries the configured sources in order. A source that is
// absent is skipped; a source that is present but malformed or untrusted is
// an error, never a reason to try the next one: otherwise an attacker could
// downgrade their identity to a weaker source (for instance a header they
// set themselves) by sending garbage in a stronger one.
package identity
