package reststore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/internal/mlenv"
	"github.com/mlruns-go/mlruns/internal/pynum"
)

// Options tune a Store. The zero value (or nil) is Python MLflow's client:
// settings from the process environment, real sleeps.
type Options struct {
	// LookupEnv reads an environment variable; nil is os.LookupEnv. Tests
	// give a map so that they do not touch the process environment.
	LookupEnv func(string) (string, bool)
	// CredentialsPath is the credentials file; "" is ~/.mlflow/credentials,
	// as Python reads it.
	CredentialsPath string
	// Sleep waits d or until ctx is done; nil is a timer. Tests record the
	// backoff schedule through it instead of sleeping.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1) scaled by the backoff jitter; nil is
	// math/rand (Python: random.random()).
	Jitter func() float64
	// Now is the clock for Retry-After dates; nil is time.Now.
	Now func() time.Time
	// Transport replaces the HTTP transport (TLS and proxy settings from the
	// environment are then the caller's); nil builds one.
	Transport http.RoundTripper
	// MaxBodyBytes caps a LogBatch request body: a larger batch is split
	// into several requests. 0 is DefaultMaxBodyBytes.
	MaxBodyBytes int
}

// DefaultMaxBodyBytes is the LogBatch body cap: MLflow documents a 1 MB
// limit per request (the 3.18 server does not enforce it, but proxies in
// front of servers often do).
const DefaultMaxBodyBytes = 1_000_000

// Defaults and limits of mlflow/environment_variables.py.
const (
	defaultMaxRetries    = 7   // MLFLOW_HTTP_REQUEST_MAX_RETRIES
	defaultBackoffFactor = 2   // MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR
	defaultBackoffJitter = 1.0 // MLFLOW_HTTP_REQUEST_BACKOFF_JITTER
	defaultTimeout       = 120 // MLFLOW_HTTP_REQUEST_TIMEOUT, seconds
	defaultRetriesLimit  = 10  // _MLFLOW_HTTP_REQUEST_MAX_RETRIES_LIMIT
	defaultFactorLimit   = 120 // _MLFLOW_HTTP_REQUEST_MAX_BACKOFF_FACTOR_LIMIT
	// backoffMax is urllib3's Retry.DEFAULT_BACKOFF_MAX, seconds.
	backoffMax = 120
	// retryAfterMax is urllib3's Retry.DEFAULT_RETRY_AFTER_MAX, seconds.
	retryAfterMax = 21600
)

// config is what the environment says, parsed once at Open.
type config struct {
	maxRetries        int
	backoffFactor     int
	backoffJitter     float64
	timeout           time.Duration
	respectRetryAfter bool
	allowRedirects    bool

	username, password string // basic auth when both are set
	token              string // bearer when basic is not set
	insecureTLS        bool
	serverCertPath     *string // nil: unset
	clientCertPath     string

	// workspace is MLFLOW_WORKSPACE stripped ("" for none), and
	// workspaceHeader its X-MLFLOW-WORKSPACE value: the Latin-1 bytes
	// http.client sends.
	workspace, workspaceHeader string
}

// configError names the variable whose value Python would refuse.
func configError(name, msg string) error {
	return errs.New(errs.ErrInvalidParameter, name+": "+msg)
}

// loadConfig reads the variables as mlflow.environment_variables does:
// a variable that is set (even to "") is converted, and a value Python's
// int()/float() or boolean rule refuses is an error naming the variable.
func loadConfig(o *Options) (config, error) {
	lookup := os.LookupEnv
	if o.LookupEnv != nil {
		lookup = o.LookupEnv
	}
	c := config{}
	var err error
	intVar := func(name string, def int) int {
		if err != nil {
			return def
		}
		n, ierr := mlenv.IntFrom(lookup, name, def)
		if ierr == nil && (n > math.MaxInt32 || n < math.MinInt32) {
			ierr = configError(name, fmt.Sprintf("%d is out of the range urllib3 takes", n))
		}
		err = ierr
		return n
	}
	boolVar := func(name string, def bool) bool {
		if err != nil {
			return def
		}
		b, berr := mlenv.BoolFrom(lookup, name, def)
		err = berr
		return b
	}
	c.maxRetries = intVar("MLFLOW_HTTP_REQUEST_MAX_RETRIES", defaultMaxRetries)
	c.backoffFactor = intVar("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", defaultBackoffFactor)
	timeout := intVar("MLFLOW_HTTP_REQUEST_TIMEOUT", defaultTimeout)
	retriesLimit := intVar("_MLFLOW_HTTP_REQUEST_MAX_RETRIES_LIMIT", defaultRetriesLimit)
	factorLimit := intVar("_MLFLOW_HTTP_REQUEST_MAX_BACKOFF_FACTOR_LIMIT", defaultFactorLimit)
	c.respectRetryAfter = boolVar("MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER", true)
	c.insecureTLS = boolVar("MLFLOW_TRACKING_INSECURE_TLS", false)
	if err != nil {
		return c, err
	}
	c.backoffJitter = defaultBackoffJitter
	if v, ok := lookup("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"); ok {
		f, perr := pynum.ParseFloat(v)
		if perr != nil {
			return c, configError("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER",
				fmt.Sprintf("Failed to convert %s for MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: could not convert string to float: %s", mlenv.PyQuote(v), mlenv.PyQuote(v)))
		}
		c.backoffJitter = f
	}
	// _validate_max_retries and _validate_backoff_factor (rest_utils.py).
	switch {
	case retriesLimit < 0:
		return c, configError("_MLFLOW_HTTP_REQUEST_MAX_RETRIES_LIMIT",
			fmt.Sprintf("The current maximum retry limit is invalid (%d). Cannot be negative.", retriesLimit))
	case c.maxRetries > retriesLimit:
		return c, configError("MLFLOW_HTTP_REQUEST_MAX_RETRIES",
			fmt.Sprintf("The configured max_retries value (%d) is in excess of the maximum allowable retries (%d)", c.maxRetries, retriesLimit))
	case c.maxRetries < 0:
		return c, configError("MLFLOW_HTTP_REQUEST_MAX_RETRIES",
			fmt.Sprintf("The max_retries value must be either 0 a positive integer. Got %d", c.maxRetries))
	case factorLimit < 0:
		return c, configError("_MLFLOW_HTTP_REQUEST_MAX_BACKOFF_FACTOR_LIMIT",
			fmt.Sprintf("The current maximum backoff factor limit is invalid (%d). Cannot be negative.", factorLimit))
	case c.backoffFactor > factorLimit:
		return c, configError("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
			fmt.Sprintf("The configured backoff_factor value (%d) is in excess of the maximum allowable backoff_factor limit (%d)", c.backoffFactor, factorLimit))
	case timeout <= 0:
		// urllib3's Timeout refuses a timeout <= 0.
		return c, configError("MLFLOW_HTTP_REQUEST_TIMEOUT",
			fmt.Sprintf("Attempted to set connect timeout to %d, but the timeout cannot be set to a value less than or equal to 0.", timeout))
	}
	c.timeout = time.Duration(timeout) * time.Second
	// request_utils.py reads this one by hand: anything but true/1 is false.
	c.allowRedirects = true
	if v, ok := lookup("MLFLOW_ALLOW_HTTP_REDIRECTS"); ok {
		l := strings.ToLower(v)
		c.allowRedirects = l == "true" || l == "1"
	}

	// Credentials (mlflow/utils/credentials.py): the environment wins per
	// field over the file; empty strings count as unset (Python's "or").
	fileUser, filePass, ferr := readCredentialsFile(o.CredentialsPath)
	if ferr != nil {
		return c, ferr
	}
	envUser, _ := lookup("MLFLOW_TRACKING_USERNAME")
	envPass, _ := lookup("MLFLOW_TRACKING_PASSWORD")
	c.username = firstNonEmpty(envUser, fileUser)
	c.password = firstNonEmpty(envPass, filePass)
	c.token, _ = lookup("MLFLOW_TRACKING_TOKEN")
	if p, ok := lookup("MLFLOW_TRACKING_SERVER_CERT_PATH"); ok {
		c.serverCertPath = &p
	}
	c.clientCertPath, _ = lookup("MLFLOW_TRACKING_CLIENT_CERT_PATH")
	if c.workspace, c.workspaceHeader, err = workspaceVar(lookup); err != nil {
		return c, err
	}
	if c.insecureTLS && c.serverCertPath != nil {
		return c, configError("MLFLOW_TRACKING_SERVER_CERT_PATH",
			"When 'ignore_tls_verification' is true then 'server_cert_path' must not be set! "+
				"This error may have occurred because the 'MLFLOW_TRACKING_INSECURE_TLS' and "+
				"'MLFLOW_TRACKING_SERVER_CERT_PATH' environment variables are both set - only one "+
				"of these environment variables may be set.")
	}
	return c, nil
}

// workspaceVar reads MLFLOW_WORKSPACE as workspace_context
// .get_request_workspace does: the value stripped as str.strip() strips,
// "" (unset, empty or blank) for no workspace. hv is the header value as
// Python puts it on the wire (http.client encodes it as Latin-1); a value
// Python cannot send (a character past U+00FF, a line break) or Go's
// net/http refuses (another control character) is an error naming the
// variable, where Python fails each request.
func workspaceVar(lookup mlenv.Lookup) (w, hv string, err error) {
	v, _ := lookup("MLFLOW_WORKSPACE")
	w = strings.TrimFunc(v, pynum.IsSpace)
	b := make([]byte, 0, len(w))
	runes := []rune(w)
	for i, r := range runes {
		switch {
		case r > 0xff:
			// the codec names the run of characters it cannot encode
			end := i
			for end+1 < len(runes) && runes[end+1] > 0xff {
				end++
			}
			what := fmt.Sprintf("character %s in position %d", pyCharRepr(r), i)
			if end > i {
				what = fmt.Sprintf("characters in position %d-%d", i, end)
			}
			return "", "", configError("MLFLOW_WORKSPACE", fmt.Sprintf(
				"%s cannot be sent as the X-MLFLOW-WORKSPACE header: 'latin-1' codec can't encode %s: ordinal not in range(256)",
				mlenv.PyQuote(w), what))
		case r == '\r' || r == '\n':
			return "", "", configError("MLFLOW_WORKSPACE", fmt.Sprintf(
				"%s cannot be sent as the X-MLFLOW-WORKSPACE header: Invalid leading whitespace, reserved character(s), or return character(s) in header value", mlenv.PyQuote(w)))
		case (r < 0x20 && r != '\t') || r == 0x7f:
			return "", "", configError("MLFLOW_WORKSPACE", fmt.Sprintf(
				"%s cannot be sent as the X-MLFLOW-WORKSPACE header: the control character U+%04X at position %d is not allowed in an HTTP header", mlenv.PyQuote(w), r, i))
		}
		b = append(b, byte(r))
	}
	return w, string(b), nil
}

// pyCharRepr is how a UnicodeEncodeError message quotes a character.
func pyCharRepr(r rune) string {
	switch {
	case r <= 0xffff:
		return fmt.Sprintf("'\\u%04x'", r)
	default:
		return fmt.Sprintf("'\\U%08x'", r)
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// readCredentialsFile reads mlflow_tracking_username and
// mlflow_tracking_password from the [mlflow] section of the credentials
// file, as configparser does (keys case-insensitive, "=" or ":", comments
// with # or ;, indented continuation lines, %% and %(key)s interpolation).
// A missing file or section gives empty strings.
func readCredentialsFile(path string) (user, pass string, err error) {
	if path == "" {
		home, herr := os.UserHomeDir()
		if herr != nil {
			return "", "", nil // expanduser("~") fails: Python finds no file
		}
		path = filepath.Join(home, ".mlflow", "credentials")
	}
	data, rerr := os.ReadFile(path)
	if errors.Is(rerr, fs.ErrNotExist) {
		return "", "", nil
	}
	if rerr != nil {
		return "", "", fmt.Errorf("reststore: reading %s: %w", path, rerr)
	}
	sections, perr := parseINI(data)
	if perr != nil {
		return "", "", errs.New(errs.ErrInvalidParameter, fmt.Sprintf("credentials file %s: %v", path, perr))
	}
	sec, ok := sections["mlflow"]
	if !ok {
		return "", "", nil
	}
	get := func(key string) (string, error) {
		v, ok := sec[key]
		if !ok {
			v, ok = sections["DEFAULT"][key]
		}
		if !ok {
			return "", nil
		}
		return interpolate(v, sec, sections["DEFAULT"], 0)
	}
	if user, err = get("mlflow_tracking_username"); err != nil {
		return "", "", errs.New(errs.ErrInvalidParameter, fmt.Sprintf("credentials file %s: %v", path, err))
	}
	if pass, err = get("mlflow_tracking_password"); err != nil {
		return "", "", errs.New(errs.ErrInvalidParameter, fmt.Sprintf("credentials file %s: %v", path, err))
	}
	return user, pass, nil
}

// parseINI is configparser's reader for the subset credentials files use.
func parseINI(data []byte) (map[string]map[string]string, error) {
	sections := map[string]map[string]string{}
	var cur map[string]string
	lastKey := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			lastKey = "" // an empty line ends a continuation (configparser keeps it; values here are one line)
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur != nil && lastKey != "" {
				cur[lastKey] += "\n" + trimmed
				continue
			}
		}
		if trimmed[0] == '[' {
			end := strings.IndexByte(trimmed, ']')
			if end < 0 {
				return nil, fmt.Errorf("line %d: section header without ]", n)
			}
			name := trimmed[1:end]
			if sections[name] == nil {
				sections[name] = map[string]string{}
			}
			cur, lastKey = sections[name], ""
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("line %d: no section header before %q", n, trimmed)
		}
		i := strings.IndexAny(trimmed, "=:")
		if i < 0 {
			return nil, fmt.Errorf("line %d: %q is not key = value", n, trimmed)
		}
		key := strings.ToLower(strings.TrimSpace(trimmed[:i]))
		cur[key] = strings.TrimSpace(trimmed[i+1:])
		lastKey = key
	}
	return sections, sc.Err()
}

// interpolate is configparser's BasicInterpolation: %% is %, %(key)s is
// another option of the section (or DEFAULT); any other % is an error.
func interpolate(v string, sec, def map[string]string, depth int) (string, error) {
	if depth > 10 {
		return "", errors.New("interpolation too deep")
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] != '%' {
			b.WriteByte(v[i])
			continue
		}
		switch {
		case i+1 < len(v) && v[i+1] == '%':
			b.WriteByte('%')
			i++
		case i+1 < len(v) && v[i+1] == '(':
			end := strings.Index(v[i:], ")s")
			if end < 0 {
				return "", fmt.Errorf("bad interpolation syntax in %q", v)
			}
			key := strings.ToLower(v[i+2 : i+end])
			ref, ok := sec[key]
			if !ok {
				ref, ok = def[key]
			}
			if !ok {
				return "", fmt.Errorf("bad interpolation variable reference %q", v[i:i+end+2])
			}
			r, err := interpolate(ref, sec, def, depth+1)
			if err != nil {
				return "", err
			}
			b.WriteString(r)
			i += end + 1
		default:
			return "", fmt.Errorf("'%%' must be followed by '%%' or '(', found: %q", v[i:])
		}
	}
	return b.String(), nil
}

// backoff is urllib3's Retry.get_backoff_time after n consecutive failed
// attempts (n >= 1): 0 for the first retry, then factor*2^(n-1) plus
// jitter, within [0, 120] seconds, with Python's min/max (a NaN jitter
// gives the cap).
func backoff(n, factor int, jitter, rnd float64) time.Duration {
	if n <= 1 {
		return 0
	}
	v := float64(factor) * math.Pow(2, float64(n-1))
	if jitter != 0 {
		v += rnd * jitter
	}
	// Python's min(backoff_max, v): v only when v < backoff_max; max(0, ...).
	if !(v < backoffMax) {
		v = backoffMax
	}
	if !(v > 0) {
		v = 0
	}
	return time.Duration(v * float64(time.Second))
}

// randomJitter is random.random().
func randomJitter() float64 { return rand.Float64() }

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
