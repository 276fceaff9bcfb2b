//go:build !linux

package baotest

import "syscall"

// sysProcAttr: no parent-death signal outside Linux; the test's cleanup stops the server.
func sysProcAttr() *syscall.SysProcAttr { return nil }
