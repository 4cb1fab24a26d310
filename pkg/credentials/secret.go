package credentials

// Secret is a credential value that does not print.
type Secret struct{ v string }

// Reveal returns the value, for the one place it belongs: the header sent
// upstream.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether there is no value.
func (s Secret) IsZero() bool { return s.v == "" }

func (Secret) String() string               { return "[redacted]" }
func (Secret) GoString() string             { return "[redacted]" }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }
