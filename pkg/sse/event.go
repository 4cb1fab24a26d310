package sse

// Event is one block of a text/event-stream, up to and including the blank
// line that ends it.
//
// Raw and Data share memory owned by the Scanner that the scanner never
// writes again; they stay valid after later calls to Feed. Do not modify
// them in place: Data may alias Raw.
type Event struct {
	// Raw is the exact bytes of the block, its terminating blank line included.
	Raw []byte
	// Name is the value of the last "event" field; "" means "message".
	Name string
	// ID is the value of the last valid "id" field in this block ("" if none;
	// an id containing NUL is ignored, as WHATWG says).
	ID string
	// LastEventID is the stream's last event ID after this block: per WHATWG
	// it persists across events until an "id" field changes it.
	LastEventID string
	// Data is the values of the block's "data" fields joined with "\n". It is
	// nil when the block has no data field: a browser does not dispatch such
	// a block, but its Raw bytes still have to be forwarded. "data:" alone
	// gives a non-nil empty Data.
	Data []byte
	// Retry is the raw value of the last "retry" field, "" if none.
	Retry string
}

// Type returns the event type a browser dispatches: Name, or "message".
func (e Event) Type() string {
	if e.Name == "" {
		return "message"
	}
	return e.Name
}

// HasData reports whether the block would be dispatched by a browser, that
// is, whether it holds at least one data field.
func (e Event) HasData() bool { return e.Data != nil }
