package spiffetest

import (
	"net"
	"syscall"
)

// peerCredentials reads SO_PEERCRED from a unix socket connection.
func peerCredentials(conn net.Conn) (Caller, bool) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return Caller{}, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return Caller{}, false
	}
	var (
		cred    *syscall.Ucred
		credErr error
	)
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return Caller{}, false
	}
	return Caller{PID: cred.Pid, UID: cred.Uid, GID: cred.Gid}, true
}
