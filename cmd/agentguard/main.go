// Command agentguard is the L7 governance service for AI agents that Envoy
// consults over ext_proc. main only wires signals; pkg/app does the rest.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/agentguard/agentguard/pkg/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	code := app.Main(ctx, os.Args[1:], app.Env{Stdout: os.Stdout, Stderr: os.Stderr, Reload: hup})
	stop()
	os.Exit(code)
}
