package baotest

import "syscall"

// sysProcAttr makes the kernel kill a private server when the test process dies without
// stopping it (a panic, a timeout): no orphaned server keeps its port and files.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
