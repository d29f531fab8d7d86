package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ProcSpec describes a child process.
type ProcSpec struct {
	Bin  string
	Args []string
	Env  []string // added to this process's environment
	// Nice, when not 0, runs the program under nice(1) with this
	// adjustment (negative: ahead of other work on a shared machine).
	Nice int
	// OnLine, when set, sees every stdout line as it is printed (from one
	// goroutine, in order). Stdout is also kept for Result.
	OnLine func(line string)
}

// Proc is a running child process.
type Proc struct {
	name    string
	cmd     *exec.Cmd
	started time.Time
	stdin   io.WriteCloser
	stdout  bytes.Buffer
	stderr  tailBuffer
	outDone chan struct{}
	waitErr error
	done    chan struct{}
	ended   time.Time
}

// ProcResult is what a finished child used.
type ProcResult struct {
	Wall   time.Duration
	MaxRSS int64         // bytes: the child's peak resident set (getrusage ru_maxrss)
	CPU    time.Duration // user + system CPU time of the child
	Stdout string
}

// StartProc starts a child. Killing ctx kills it.
func StartProc(ctx context.Context, spec ProcSpec) (*Proc, error) {
	bin, args := spec.Bin, spec.Args
	if spec.Nice != 0 {
		// nice execs the program in place: same pid, same rusage.
		bin, args = "nice", append([]string{"-n", strconv.Itoa(spec.Nice), spec.Bin}, spec.Args...)
	}
	p := &Proc{name: filepath.Base(spec.Bin), cmd: exec.CommandContext(ctx, bin, args...), outDone: make(chan struct{}), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), spec.Env...)
	p.cmd.Stderr = &p.stderr
	p.cmd.WaitDelay = 5 * time.Second
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", p.name, err)
	}
	go func() {
		defer close(p.outDone)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.stdout.WriteString(line)
			p.stdout.WriteByte('\n')
			if spec.OnLine != nil {
				spec.OnLine(line)
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		<-p.outDone
		p.waitErr = p.cmd.Wait()
		p.ended = time.Now()
		close(p.done)
	}()
	return p, nil
}

// Pid is the child's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Stdin is the child's standard input.
func (p *Proc) Stdin() io.WriteCloser { return p.stdin }

// Signal sends sig to the child.
func (p *Proc) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Done is closed when the child has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Wait waits for the child and reports its wall time and peak RSS. A
// non-zero exit is an error carrying the end of the child's stderr.
func (p *Proc) Wait() (ProcResult, error) {
	<-p.done
	res := ProcResult{Wall: p.ended.Sub(p.started), Stdout: p.stdout.String()}
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.MaxRSS = ru.Maxrss * 1024 // Linux reports kilobytes
		res.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if p.waitErr != nil {
		return res, fmt.Errorf("%s: %w; stderr: %s", p.name, p.waitErr, strings.TrimSpace(p.stderr.String()))
	}
	return res, nil
}

// RunProc runs a child to completion.
func RunProc(ctx context.Context, spec ProcSpec) (ProcResult, error) {
	p, err := StartProc(ctx, spec)
	if err != nil {
		return ProcResult{}, err
	}
	_ = p.stdin.Close()
	return p.Wait()
}

// Server is a mongosim server running in its own process.
type Server struct {
	URI  string
	proc *Proc
}

// StartServer runs the mongosim binary of spec on a free port (spec.Args
// are further flags) and waits for the URI it prints.
func StartServer(ctx context.Context, spec ProcSpec) (*Server, error) {
	uri := make(chan string, 1)
	var once sync.Once
	spec.Args = append([]string{"--port", "0"}, spec.Args...)
	spec.OnLine = func(line string) {
		if strings.HasPrefix(line, "mongodb://") {
			once.Do(func() { uri <- line })
		}
	}
	p, err := StartProc(ctx, spec)
	if err != nil {
		return nil, err
	}
	select {
	case u := <-uri:
		return &Server{URI: u, proc: p}, nil
	case <-p.Done():
		_, err := p.Wait()
		return nil, fmt.Errorf("mongosim exited before serving: %w", err)
	case <-time.After(30 * time.Second):
		_ = p.Signal(syscall.SIGKILL)
		return nil, errors.New("mongosim printed no URI within 30s")
	}
}

// Memory reads the server's current and peak resident set, in bytes.
func (s *Server) Memory() (rss, peak int64, err error) {
	return procMemory(s.proc.Pid())
}

// CPU is the server's user + system CPU time so far.
func (s *Server) CPU() (time.Duration, error) {
	return procCPU(s.proc.Pid())
}

// Stop ends the server (SIGTERM) and waits for it.
func (s *Server) Stop() error {
	if err := s.proc.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	_, err := s.proc.Wait()
	return err
}

// procMemory reads VmRSS and VmHWM from /proc/<pid>/status.
func procMemory(pid int) (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) < 1 {
			continue
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse %s of pid %d: %w", k, pid, err)
		}
		if k == "VmRSS" {
			rss = kb * 1024
		} else {
			peak = kb * 1024
		}
	}
	return rss, peak, nil
}

// procCPU reads utime and stime from /proc/<pid>/stat (in clock ticks of
// 1/100 s, USER_HZ on every Linux architecture Go supports here).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after it are plain.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	// After the name: state is field 3, utime field 14, stime field 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// tailBuffer keeps the last 8 KB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - 8<<10; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// LoadAverage is the machine's 1-minute load average (0 if unreadable).
// Benchmarks record it: on a machine busy with other work, wall times
// say more about the neighbours than about the programs measured.
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// StartCPUProfile profiles this process into path until the returned
// function is called (the children's -cpuprofile flag).
func StartCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// FindBinary locates a program built next to the running one (make bench
// builds them all into one directory), or in dir when given.
func FindBinary(dir, name string) (string, error) {
	if dir == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", err
		}
		dir = filepath.Dir(exe)
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s not found in %s (build it: go build -o %s ./cmd/mongosim ./bench/cmd/...): %w", name, dir, dir, err)
	}
	return p, nil
}
