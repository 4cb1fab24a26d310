package openai

import (
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// EnsureIncludeUsage makes a streaming Chat Completions (or legacy
// Completions) request ask for usage: when "stream" is true and
// stream_options.include_usage is not true, it sets it with sjson, leaving
// every other byte as it was, and reports true. Non-streaming requests and
// requests that already ask are returned unchanged. Do not use it on
// Responses bodies: that API has no stream_options.include_usage and rejects
// it.
//
// The body must be a JSON object with no repeated "stream" or
// "stream_options" members; otherwise it fails with a Malformed *Error.
func EnsureIncludeUsage(body []byte) ([]byte, bool, error) {
	if err := checkJSON(body, DefaultMaxDepth); err != nil {
		return body, false, err
	}
	var ks keySet
	var stream, opts, include gjson.Result
	err := ks.eachMember(gjson.ParseBytes(body), func(k string, v gjson.Result) *Error {
		switch k {
		case "stream":
			stream = v
		case "stream_options":
			opts = v
			if v.IsObject() {
				return ks.eachMember(v, func(k string, v gjson.Result) *Error {
					if k == "include_usage" {
						include = v
					}
					return nil
				})
			}
		}
		return nil
	})
	if err != nil {
		return body, false, err
	}
	if stream.Type != gjson.True || include.Type == gjson.True {
		return body, false, nil
	}
	var out []byte
	var serr error
	switch {
	case opts.IsObject():
		out, serr = sjson.SetBytes(body, "stream_options.include_usage", true)
	case !opts.Exists() || opts.Type == gjson.Null:
		out, serr = sjson.SetRawBytes(body, "stream_options", []byte(`{"include_usage":true}`))
	default:
		return body, false, Malformed(`"stream_options" must be an object`)
	}
	if serr != nil {
		return body, false, Malformed("cannot set stream_options.include_usage: " + serr.Error())
	}
	return out, true, nil
}
