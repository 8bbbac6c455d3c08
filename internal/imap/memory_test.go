package imap_test

import (
	"bufio"
	"compress/flate"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-mail/gatehouse/internal/imap"
)

// The memory benchmark runs the server in a child process (this test
// binary, started with memChildEnv set), so that the clients' memory does
// not count. The child prints its address, then answers "pss" with its
// proportional set size from /proc/self/smaps_rollup.
const memChildEnv = "GATEHOUSE_IMAP_MEMCHILD"

func TestMain(m *testing.M) {
	if os.Getenv(memChildEnv) == "1" {
		memChild()
		return
	}
	os.Exit(m.Run())
}

func memChild() {
	if os.Getenv("GATEHOUSE_IMAP_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 1
	}
	dir, err := os.MkdirTemp("", "imapmem")
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	e, cleanup, err := startEnv(dir, envOptions{opts: imap.Options{MaxConnsPerIP: -1, MaxConnsPerMailbox: -1}})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	defer cleanup()
	e.login.light = true
	fmt.Println("ADDR", e.addr)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "pss":
			// Two collections: the first halves grown stacks, the second
			// may halve them again, as the runtime's periodic collections
			// do in a long-running server.
			runtime.GC()
			runtime.GC()
			debug.FreeOSMemory()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Println("PSS", pssKB(), ms.HeapInuse, ms.StackInuse, runtime.NumGoroutine())
		case "heap":
			if f, err := os.Create(os.Getenv("GATEHOUSE_IMAP_HEAPPROFILE")); err == nil {
				runtime.GC()
				pprof.WriteHeapProfile(f)
				f.Close()
			}
			fmt.Println("PSS 0 0 0 0")
		case "quit":
			return
		}
	}
}

// pssKB reads the process's proportional set size in kB.
func pssKB() int64 {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "Pss:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return -1
}

// BenchmarkIdleMemory opens 2,000 connections that log in, select INBOX and
// IDLE, and reports the server's memory per connection (target, see
// docs/ARCHITECTURE.md:
// at most 8 kB PSS). Run with -benchtime=1x. The compressed variant turns
// on COMPRESS DEFLATE (RFC 4978) before SELECT.
func BenchmarkIdleMemory(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchIdleMemory(b, false, "") })
	b.Run("compressed", func(b *testing.B) { benchIdleMemory(b, true, "") })
	// A NOTIFY session (RFC 5465) watching its INBOX and every folder.
	b.Run("notify", func(b *testing.B) {
		benchIdleMemory(b, false, "n NOTIFY SET (selected (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge MailboxName))\r\n")
	})
}

// benchIdleMemory measures sessions that log in, SELECT INBOX, send
// extra, and IDLE.
//
// GATEHOUSE_BENCH_IDLE_CONNS sets the number of sessions (default 2,000).
// Above 20,000 the clients dial from 127.0.0.2, 127.0.0.3, ... in turn,
// 20,000 from each, so that loopback's ephemeral ports suffice; raise the
// open-files limit first (ulimit -Hn 250000; ulimit -n 250000): the
// server and the clients each hold one descriptor per session.
func benchIdleMemory(b *testing.B, compressed bool, extra string) {
	conns := 2000
	if v := os.Getenv("GATEHOUSE_BENCH_IDLE_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("GATEHOUSE_BENCH_IDLE_CONNS: %q is not a number of sessions", v)
		}
		conns = n
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), memChildEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		fmt.Fprintln(stdin, "quit")
		cmd.Wait()
	}()
	out := bufio.NewScanner(stdout)
	readLine := func(prefix string) []string {
		b.Helper()
		if !out.Scan() {
			b.Fatalf("child ended: %v", out.Err())
		}
		f := strings.Fields(out.Text())
		if len(f) == 0 || f[0] != prefix {
			b.Fatalf("child said %q", out.Text())
		}
		return f[1:]
	}
	addr := readLine("ADDR")[0]
	measure := func() (pss, heap, stack int64, goroutines int) {
		fmt.Fprintln(stdin, "pss")
		f := readLine("PSS")
		pss, _ = strconv.ParseInt(f[0], 10, 64)
		heap, _ = strconv.ParseInt(f[1], 10, 64)
		stack, _ = strconv.ParseInt(f[2], 10, 64)
		goroutines, _ = strconv.Atoi(f[3])
		return
	}
	open := func(n int) []net.Conn {
		var mu sync.Mutex
		var out []net.Conn
		var wg sync.WaitGroup
		sem := make(chan struct{}, 50)
		for i := 0; i < n; i++ {
			wg.Add(1)
			sem <- struct{}{}
			var d net.Dialer
			if conns > 20000 {
				d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i/20000))}
			}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				nc, err := d.Dial("tcp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				r := bufio.NewReader(nc)
				if compressed {
					nc.Write([]byte("a LOGIN alice pw-alice\r\nz COMPRESS DEFLATE\r\n"))
					for {
						nc.SetReadDeadline(time.Now().Add(30 * time.Second))
						l, err := r.ReadString('\n')
						if err != nil {
							b.Error(err)
							return
						}
						if strings.HasPrefix(l, "z OK") {
							break
						}
					}
					r = bufio.NewReader(flate.NewReader(r))
					fw, _ := flate.NewWriter(nc, flate.BestSpeed)
					fw.Write([]byte("b SELECT INBOX\r\nc IDLE\r\n"))
					fw.Flush()
				} else {
					nc.Write([]byte("a LOGIN alice pw-alice\r\nb SELECT INBOX\r\n" + extra + "c IDLE\r\n"))
				}
				for {
					nc.SetReadDeadline(time.Now().Add(30 * time.Second))
					l, err := r.ReadString('\n')
					if err != nil {
						b.Error(err)
						return
					}
					if strings.HasPrefix(l, "+ idling") {
						break
					}
				}
				mu.Lock()
				out = append(out, nc)
				mu.Unlock()
			}()
		}
		wg.Wait()
		return out
	}
	warm := open(20)
	time.Sleep(500 * time.Millisecond)
	pss0, heap0, stack0, g0 := measure()
	many := open(conns)
	time.Sleep(time.Second)
	pss1, heap1, stack1, g1 := measure()
	if os.Getenv("GATEHOUSE_IMAP_HEAPPROFILE") != "" {
		fmt.Fprintln(stdin, "heap")
		readLine("PSS")
	}
	n := float64(len(many))
	b.ReportMetric(float64(pss1-pss0)*1024/n, "PSS-B/conn")
	b.ReportMetric(float64(heap1-heap0)/n, "heap-B/conn")
	b.ReportMetric(float64(stack1-stack0)/n, "stack-B/conn")
	b.ReportMetric(float64(g1-g0)/n, "goroutines/conn")
	b.Logf("%d idle connections: PSS %d → %d kB, heap %d → %d, stacks %d → %d, goroutines %d → %d",
		len(many), pss0, pss1, heap0, heap1, stack0, stack1, g0, g1)
	for _, c := range append(warm, many...) {
		c.Close()
	}
}
