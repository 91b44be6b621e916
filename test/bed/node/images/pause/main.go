// pause is the test bed's Pod sandbox image: it holds the Pod's namespaces open, reaps the
// zombies handed to it (it is PID 1 when the Pod shares its process namespace) and exits 0 on
// SIGTERM or SIGINT. No registry is reachable from the bed, so it is built here, not pulled.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		reapAll()
	}
}

// reapAll waits for every child that has exited; one SIGCHLD may stand for several.
func reapAll() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
