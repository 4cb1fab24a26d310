package extproc

import (
	"testing"
	"time"
)

// waitFor polls cond: the server records a stream after it ends, which the
// client side cannot observe directly. It never asserts a duration.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
