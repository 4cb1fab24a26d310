package app

import (
	"context"
	"fmt"
	"io"
	"os"
)

// Env is what the process gives the CLI.
type Env struct {
	Stdout, Stderr io.Writer
	// Reload receives a value on SIGHUP.
	Reload <-chan os.Signal
}

const usage = `agentguard — L7 governance for AI agents, as an Envoy ext_proc service.

Usage:
  agentguard serve    [--config F] [--grpc-addr A] [--metrics-addr A] [--health-addr A] [--admin-addr A]
                      [--log-level L] [--drain-timeout D]
  agentguard validate [--config F]
  agentguard eval     [--config F] [--profile P | --port N] [-H 'name: value']... [--body FILE|-]
                      [--method M] [--path P] [--authority A]
  agentguard test     [-v] DIR|FILE...
  agentguard version

Run 'agentguard COMMAND -h' for a command's flags.

Without --config the embedded default deployment (policies/codereview.yaml) is used.
`

// Version is set at build time with -ldflags "-X ...app.Version=…".
var Version = "dev"

// Main runs the CLI and returns the process exit code. ctx ends on SIGTERM
// or SIGINT.
func Main(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		args = []string{"serve"}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], env)
	case "validate":
		return validate(args[1:], env)
	case "eval":
		return evalCmd(ctx, args[1:], env)
	case "test":
		return testCmd(ctx, args[1:], env)
	case "version", "--version":
		fmt.Fprintln(env.Stdout, "agentguard", Version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return 0
	}
	fmt.Fprintf(env.Stderr, "agentguard: unknown command %q\n\n%s", args[0], usage)
	return 2
}
