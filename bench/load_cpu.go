package bench

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's CPU times: 100 on
// every Linux architecture Go supports (the kernel's HZ may differ, the
// value it exports does not).
const clockTicks = 100

// ProcessCPU is the user+system CPU time a process has used, from
// /proc/PID/stat (fields 14 and 15, counted after the parenthesised command
// name, which may hold spaces).
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: malformed stat %q", stat)
	}
	// After ") ": field 3 (state) is fields[0], so utime (14) is
	// fields[11] and stime (15) fields[12].
	fields := strings.Fields(stat[i+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("bench: short stat %q", stat)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bench: malformed stat times %q %q", fields[11], fields[12])
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// selfCPU is this process's user+system CPU time.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// ListenerPID finds the process listening on a TCP port: the socket inode
// from /proc/net/tcp and tcp6, then the process holding that inode among
// /proc/*/fd (only processes this user may inspect are seen).
func ListenerPID(port int) (int, error) {
	inode := ""
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if inode, _ = listeningInode(f, port); inode != "" {
			break
		}
	}
	if inode == "" {
		return 0, fmt.Errorf("bench: nothing listens on port %d", port)
	}
	want := "socket:[" + inode + "]"
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range procs {
		if link, err := os.Readlink(fd); err == nil && link == want {
			return strconv.Atoi(strings.Split(fd, "/")[2])
		}
	}
	return 0, fmt.Errorf("bench: no visible process holds the socket listening on port %d", port)
}

// listeningInode returns the inode of the socket in state LISTEN (0A) on
// port in a /proc/net/tcp-format table.
func listeningInode(table string, port int) (string, error) {
	f, err := os.Open(table)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	suffix := fmt.Sprintf(":%04X", port)
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) > 9 && fields[3] == "0A" && strings.HasSuffix(fields[1], suffix) {
			return fields[9], nil
		}
	}
	return "", sc.Err()
}
