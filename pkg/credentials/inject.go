package credentials

// ClientHeaders are the headers a client may carry a credential in. Every
// one is removed from the request before the provider's is set, so a key an
// agent was given by mistake never reaches the provider alongside ours, and
// a client cannot choose the key it is billed under.
var ClientHeaders = []string{
	"authorization", "x-api-key", "api-key", "proxy-authorization",
	"x-goog-api-key", "openai-organization", "openai-project",
}

// Header is one header to set.
type Header struct{ Name, Value string }

// Scheme is how a provider takes its credential.
type Scheme int

const (
	// Bearer: Authorization: Bearer <key> (OpenAI).
	Bearer Scheme = iota
	// APIKey: x-api-key: <key> (Anthropic).
	APIKey
)

// Headers returns the headers that carry s under scheme.
func Headers(scheme Scheme, s Secret) []Header {
	if scheme == APIKey {
		return []Header{{Name: "x-api-key", Value: s.Reveal()}}
	}
	return []Header{{Name: "authorization", Value: "Bearer " + s.Reveal()}}
}
