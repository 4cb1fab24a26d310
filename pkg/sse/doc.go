// Package sse splits a text/event-stream (server-sent events) into events
// as it streams past, across arbitrary chunk boundaries.
//
// Envoy hands an ext_proc service a STREAMED response body chunk by chunk,
// with boundaries anywhere: inside a field, between the CR and LF of one
// line ending, inside a UTF-8 byte order mark. A [Scanner] holds back only
// the bytes of the one incomplete event, returns each event as soon as its
// terminating blank line arrives, and keeps every byte: the concatenation of
// all [Event.Raw] plus [Scanner.Pending] is exactly the input, so events that
// are not rewritten pass through byte for byte. [Encode] renders a rewritten
// event.
//
// At the end of the stream call [Scanner.End] (a last event ended by a lone
// CR is complete only then), then forward [Scanner.Pending] as is: those
// bytes are an incomplete event, which a browser discards, so a caller that
// must inspect everything should treat a non-empty Pending at the end as
// uninspected.
//
// Parsing follows the WHATWG HTML "event stream interpretation" algorithm,
// with these deliberate differences, all for passthrough:
//
//   - Bytes are not UTF-8 decoded: field values are the raw bytes, and
//     invalid UTF-8 is not replaced with U+FFFD.
//   - A UTF-8 BOM at the very start of the stream is skipped for parsing but
//     kept in the Raw bytes of the first event.
//   - A block that holds no data field, which a browser never dispatches
//     (comments, keep-alives, a lone id or retry), is still returned as an
//     Event, with Data nil, so its bytes are not lost.
package sse
