//go:build unix && !linux

package mcpservers

import "syscall"

func setDeathSignal(*syscall.SysProcAttr) {}
