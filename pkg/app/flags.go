package app

import (
	"flag"
	"log/slog"
	"strings"
)

func newFlags(name string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet("agentguard "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// headerFlags collects repeated -H 'name: value' flags.
type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

func parseLevel(s string) slog.Level {
	var l slog.Level
	if l.UnmarshalText([]byte(s)) != nil {
		return slog.LevelInfo
	}
	return l
}
