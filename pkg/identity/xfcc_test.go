package identity

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"
)

func TestParseXFCC(t *testing.T) {
	b, err := os.ReadFile("testdata/xfcc.json")
	if err != nil {
		t.Fatal(err)
	}
	var tests []struct {
		Name   string
		Header string
		Want   []XFCCElement
		Err    bool
	}
	if err := json.Unmarshal(b, &tests); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			got, err := ParseXFCC(tt.Header)
			if tt.Err {
				if !errors.Is(err, ErrMalformedXFCC) {
					t.Fatalf("err = %v, want ErrMalformedXFCC (got %+v)", err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.Want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.Want)
			}
		})
	}
}
