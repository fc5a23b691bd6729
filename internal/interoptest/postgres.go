package interoptest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlruns-go/mlruns/internal/procgroup"
)

// PostgreSQL for Postgres servers: one cluster per test binary, in a
// temporary folder, listening on a unix socket only (no TCP: nothing else on
// the machine can reach it), started when the first Postgres server is and
// stopped when the last one's test has ended, or when Main returns. Each
// server gets a fresh database, dropped after the server stops.

// pgPort names the socket file (.s.PGSQL.<port>); with no TCP listener and
// a socket folder of our own, any number is free.
const pgPort = 5432

// pgStartTimeout bounds initdb and the cluster's start.
const pgStartTimeout = 60 * time.Second

// pg is the cluster of this test binary.
var pg pgState

type pgState struct {
	sync.Mutex
	cluster *pgCluster
	refs    int    // servers whose test has not ended yet
	held    bool   // Main keeps the cluster until the package's tests are done
	missing string // why PostgreSQL cannot be found; set once looked for
	looked  bool
	bin     string
	nextDB  int
}

// pgCluster is a running postgres process of ours.
type pgCluster struct {
	dir    string // the cluster's folder: data/ and the socket
	cmd    *exec.Cmd
	exited chan struct{}
	output *procgroup.Buffer
}

// Main runs a package's tests and then stops the PostgreSQL cluster of its
// Postgres servers, so that the package pays for initdb once:
//
//	func TestMain(m *testing.M) { os.Exit(interoptest.Main(m)) }
//
// Without it the cluster is stopped when the last Postgres server's test
// ends, and started again for the next one (correct, only slower).
func Main(m *testing.M) int {
	pg.Lock()
	pg.held = true
	pg.Unlock()
	code := m.Run()
	pg.Lock()
	pg.held = false
	if pg.refs == 0 {
		pg.stopLocked()
	}
	pg.Unlock()
	return code
}

// PostgresBin returns the folder of PostgreSQL's server programs (initdb,
// postgres, pg_isready, createdb, dropdb): $MLRUNS_PGBIN, else the newest
// /usr/lib/postgresql/<major>/bin (Debian's layout), else `pg_config
// --bindir`. Like Python, it skips t when none is found, or fails it under
// MLRUNS_INTEROP=required.
func PostgresBin(t testing.TB) string {
	t.Helper()
	if Off() {
		t.Skip("skipping PostgreSQL test: MLRUNS_INTEROP=off or -short")
	}
	pg.Lock()
	if !pg.looked {
		pg.bin, pg.missing = findPostgres()
		pg.looked = true
	}
	bin, missing := pg.bin, pg.missing
	pg.Unlock()
	if bin == "" {
		if Required() {
			t.Fatalf("PostgreSQL test required but %s", missing)
		}
		t.Skipf("skipping PostgreSQL test: %s", missing)
	}
	return bin
}

// pgPrograms are the programs the harness runs from the bin folder.
var pgPrograms = []string{"initdb", "postgres", "pg_isready", "createdb", "dropdb"}

func findPostgres() (bin, missing string) {
	has := func(dir string) bool {
		for _, p := range pgPrograms {
			if _, err := exec.LookPath(filepath.Join(dir, p)); err != nil {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv("MLRUNS_PGBIN"); dir != "" {
		if !has(dir) {
			return "", "MLRUNS_PGBIN=" + dir + " lacks one of " + strings.Join(pgPrograms, ", ")
		}
		return dir, ""
	}
	if runtime.GOOS == "windows" {
		return "", "the PostgreSQL harness runs on Linux and macOS only"
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return majorOf(b) - majorOf(a) })
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	for _, dir := range dirs {
		if has(dir) {
			return dir, ""
		}
	}
	return "", "no PostgreSQL server programs (" + strings.Join(pgPrograms, ", ") +
		") in /usr/lib/postgresql/<major>/bin or pg_config --bindir; install Debian's with " +
		"`apt-get install -y postgresql`, as scripts/test.sh does, or set MLRUNS_PGBIN"
}

// majorOf is the <major> of /usr/lib/postgresql/<major>/bin.
func majorOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// postgresDatabase creates a fresh database in the cluster (starting it if
// needed) and returns its name and MLflow's URI for it; the database is
// dropped, and the cluster released, in t.Cleanup.
func postgresDatabase(t testing.TB) (name, uri string) {
	t.Helper()
	bin := PostgresBin(t)
	pg.Lock()
	if pg.cluster == nil {
		c, err := startCluster(bin)
		if err != nil {
			pg.Unlock()
			t.Fatalf("PostgreSQL: %v", err)
		}
		pg.cluster = c
	}
	c := pg.cluster
	pg.refs++
	pg.nextDB++
	name = "mlflow_" + strconv.Itoa(pg.nextDB)
	pg.Unlock()
	// Registered before the server's cleanup, so it runs after the server
	// has stopped (cleanups run last-in first-out).
	t.Cleanup(func() {
		if out, err := c.run(bin, "dropdb", name); err != nil && !t.Failed() {
			t.Errorf("PostgreSQL: dropdb %s: %v\n%s", name, err, out)
		}
		pg.Lock()
		pg.refs--
		if pg.refs == 0 && !pg.held {
			pg.stopLocked()
		}
		pg.Unlock()
	})
	if out, err := c.run(bin, "createdb", "-E", "UTF8", name); err != nil {
		t.Fatalf("PostgreSQL: createdb %s: %v\n%s\n--- postgres log ---\n%s", name, err, out, tail(c.output.String(), 40))
	}
	// psycopg2, not SQLAlchemy 2.1's default PostgreSQL dialect (psycopg 3,
	// not in the lock).
	uri = "postgresql+psycopg2://postgres@/" + name + "?host=" + c.dir + "&port=" + strconv.Itoa(pgPort)
	return name, uri
}

// run runs a client program of bin against the cluster as its superuser.
func (c *pgCluster) run(bin, prog string, args ...string) ([]byte, error) {
	args = append([]string{"-h", c.dir, "-p", strconv.Itoa(pgPort), "-U", "postgres"}, args...)
	cmd := exec.Command(filepath.Join(bin, prog), args...)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=10")
	return cmd.CombinedOutput()
}

// startCluster makes a cluster in a new temporary folder and starts it.
// PostgreSQL refuses to run as root: as root, initdb and postgres run as
// the postgres user (Debian's package makes it), which owns the folder.
func startCluster(bin string) (*pgCluster, error) {
	var uid, gid int = -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL must run as another user, and there is no postgres user (%v)", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	dir, err := os.MkdirTemp("", "mlruns-pg-")
	if err != nil {
		return nil, err
	}
	c := &pgCluster{dir: dir, exited: make(chan struct{}), output: &procgroup.Buffer{}}
	fail := func(err error) (*pgCluster, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	if uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			return fail(err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Env = os.Environ()
	initdb.Dir = dir // postgres may not be able to enter our working folder
	runAs(initdb, uid, gid)
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %v\n%s", err, out))
	}
	// A test cluster: no durability (fsync off), no TCP, enough
	// connections for several servers' pools at once.
	c.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", dir, "-p", strconv.Itoa(pgPort),
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300")
	c.cmd.Env = os.Environ()
	c.cmd.Stdout, c.cmd.Stderr = c.output, c.output
	procgroup.Own(c.cmd)
	runAs(c.cmd, uid, gid)
	c.cmd.Dir = dir
	if err := procgroup.StartTied(c.cmd, c.exited); err != nil {
		return fail(fmt.Errorf("postgres: %v", err))
	}
	deadline := time.Now().Add(pgStartTimeout)
	for {
		select {
		case <-c.exited:
			return fail(fmt.Errorf("postgres exited before accepting connections (%v)\n%s", c.cmd.ProcessState, c.output.String()))
		default:
		}
		if _, err := c.run(bin, "pg_isready", "-q"); err == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			c.stop()
			return fail(errors.New("postgres did not accept connections within " + pgStartTimeout.String() + "\n" + c.output.String()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopLocked stops the cluster, if one runs; pg is locked.
func (p *pgState) stopLocked() {
	if p.cluster != nil {
		p.cluster.stop()
		p.cluster = nil
	}
}

// stop ends postgres (a fast shutdown: SIGINT, then SIGKILL after 10 s)
// and removes its folder.
func (c *pgCluster) stop() {
	procgroup.Interrupt(c.cmd.Process.Pid)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		procgroup.Kill(c.cmd.Process.Pid)
		<-c.exited
	}
	procgroup.Kill(c.cmd.Process.Pid)
	os.RemoveAll(c.dir)
}
