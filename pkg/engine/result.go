package engine

// BodyMode is how the rest of a body should reach agentguard; it becomes
// Envoy's ProcessingMode body send mode in a mode_override.
type BodyMode int

const (
	BodyModeUnchanged BodyMode = iota
	BodyNone
	BodyBuffered
	BodyStreamed
	// BodyBufferedPartial is Envoy's BUFFERED_PARTIAL: a body over Envoy's
	// buffer limit arrives cut short, the rest passing unread.
	BodyBufferedPartial
	// BodyFullDuplex is FULL_DUPLEX_STREAMED, which agentguard does not
	// speak for request bodies.
	BodyFullDuplex
)

// Result is what agentguard answers to one Envoy message.
type Result struct {
	// Reply, when set, ends the exchange: Envoy sends it to the client and
	// the request goes no further.
	Reply *Reply

	SetHeaders      []HeaderValue
	RemoveHeaders   []string
	ClearRouteCache bool
	// Body replaces the message's body (or body chunk) when BodySet.
	Body    []byte
	BodySet bool

	// RequestBodyMode / ResponseBodyMode, in answer to a headers message,
	// ask Envoy to change how the rest of the exchange is sent.
	RequestBodyMode  BodyMode
	ResponseBodyMode BodyMode
}

// Reply is a response agentguard makes instead of the upstream's.
type Reply struct {
	Status  int
	Headers []HeaderValue
	Body    []byte
	// Details is for Envoy's access log (response code details); no
	// secrets, no client data.
	Details string
}

// replace sets the body of r.
func (r *Result) replace(b []byte) {
	r.Body = b
	r.BodySet = true
}
