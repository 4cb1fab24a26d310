package sse

// Encode renders one event: optional "event:", "id:" and "retry:" lines
// (omitted when empty), then one "data:" line per line of data, then a blank
// line, all with "\n" line endings. A nil data writes no data line (a block
// a browser does not dispatch); an empty non-nil data writes one empty
// "data:" line.
//
// Every line ending in data (CRLF, LF or CR) starts a new "data:" line, so a
// receiver sees the same lines joined with "\n". CR and LF in name, id and
// retry are replaced by spaces: a value must never be able to inject a field
// or end the event early.
func Encode(name, id, retry string, data []byte) []byte {
	n := len(name) + len(id) + len(retry) + len(data) + 32
	out := make([]byte, 0, n)
	out = appendField(out, "event", name)
	out = appendField(out, "id", id)
	out = appendField(out, "retry", retry)
	if data != nil {
		for {
			i, next := lineEnd(data)
			out = appendData(out, data[:i])
			if next < 0 {
				break
			}
			data = data[next:]
		}
	}
	return append(out, '\n')
}

func appendField(out []byte, field, value string) []byte {
	if value == "" {
		return out
	}
	out = append(out, field...)
	out = append(out, ':', ' ')
	for i := 0; i < len(value); i++ {
		c := value[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		out = append(out, c)
	}
	return append(out, '\n')
}

func appendData(out, line []byte) []byte {
	out = append(out, "data:"...)
	if len(line) > 0 {
		// Exactly one space, which the receiver strips: a value that itself
		// starts with a space survives.
		out = append(out, ' ')
		out = append(out, line...)
	}
	return append(out, '\n')
}

// lineEnd returns the length of the first line of b and the offset where the
// next line starts, or next < 0 when b has no line ending.
func lineEnd(b []byte) (i, next int) {
	for i = 0; i < len(b); i++ {
		switch b[i] {
		case '\n':
			return i, i + 1
		case '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				return i, i + 2
			}
			return i, i + 1
		}
	}
	return len(b), -1
}
