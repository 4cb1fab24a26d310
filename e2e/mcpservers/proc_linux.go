package mcpservers

import "syscall"

// setDeathSignal has the kernel kill the child if the test process dies
// without cleaning up (a go test -timeout panic, say).
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
