// Package limits holds rate, token and budget limiters: a Store decides
// whether a key may take n units now, and corrects the charge later with
// the real usage (an LLM reports its tokens and cost only in its response).
//
// A Spec is either a rate limit or a calendar quota. A rate limit is GCRA
// with continuous refill: Rate units per Period, at most Burst at once. Its
// state is the theoretical arrival time in Unix nanoseconds; a cost becomes
// nanoseconds once (n·Period/Rate, rounded toward zero), so admission,
// Retry-After and Reset are exact integer arithmetic. A quota allows Quota
// units per calendar day or month in a time zone and empties exactly at the
// boundary.
//
// Take is all or nothing: n units are charged only if they all fit, and a
// cost larger than the limit itself is refused with Reason TooLarge rather
// than admitted in part. Adjust charges the difference between the real
// usage and the estimate: more debt may push a key past its limit, so the
// next request waits; a refund never goes below empty.
//
// Two backends: Memory, sharded maps in the process, exact per replica; and
// Redis, shared by replicas, one atomic Lua script per decision in one
// round trip, with a per-call timeout, a back-off after failures, and a
// fail mode: open to a per-replica Memory (default), or closed.
//
// Both read time from an injected clock and run the same arithmetic step
// for step (math.go, rate.lua, quota.lua), so they reach the same
// decisions.
package limits
