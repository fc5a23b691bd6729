package search

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// Limits of search_runs and search_experiments (SEARCH_MAX_RESULTS_DEFAULT
// and SEARCH_MAX_RESULTS_THRESHOLD in MLflow).
const (
	DefaultMaxResults = 1000
	MaxResults        = 50000
)

// PageToken returns MLflow's page token for an offset: standard base64 of
// json.dumps({"offset": N}). The bytes are part of MLflow's wire format.
func PageToken(offset int) string {
	return base64.StdEncoding.EncodeToString([]byte(`{"offset": ` + strconv.Itoa(offset) + `}`))
}

// ParsePageToken returns the offset a token encodes; an empty token is
// offset 0. As MLflow, an offset of 0 inside a token is refused (falsy).
func ParsePageToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	// Python's b64decode drops characters outside the alphabet first.
	clean := strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '=' {
			return r
		}
		return -1
	}, tok)
	raw, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return 0, errAt(tok, -1, "Invalid page token, could not base64-decode")
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, errAt(tok, -1, "Invalid page token, decoded value=%s", raw)
	}
	var off int
	switch o := v["offset"].(type) {
	case float64:
		if o >= math.MaxInt32 || o <= math.MinInt32 {
			return 0, errAt(tok, -1, "Invalid page token, parsed value=%s", raw)
		}
		off = int(o)
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(o))
		if err != nil && o != "" {
			return 0, errAt(tok, -1, "Invalid page token, not stringable %s", o)
		}
		off = n
	}
	if off == 0 {
		return 0, errAt(tok, -1, "Invalid page token, parsed value=%s", raw)
	}
	if off < 0 {
		return 0, errAt(tok, -1, "Invalid page token, negative offset %d", off)
	}
	return off, nil
}

// Page returns the [lo, hi) bounds of the page starting at the token's
// offset over n items and the next page's token ("" on the last page), as
// SearchUtils.paginate.
func Page(n int, pageToken string, maxResults int) (lo, hi int, next string, err error) {
	off, err := ParsePageToken(pageToken)
	if err != nil {
		return 0, 0, "", err
	}
	end := off + maxResults
	lo, hi = min(off, n), min(end, n)
	if end < n {
		next = PageToken(end)
	}
	return lo, hi, next, nil
}

// CheckRunsMaxResults applies search_runs' limit. Zero means the default.
func CheckRunsMaxResults(n int) (int, error) {
	return checkMaxResults(n, DefaultMaxResults, MaxResults,
		"Invalid value for request parameter max_results. It must be a positive integer, but got value %[1]d",
		"Invalid value for request parameter max_results. It must be at most %[2]d, but got value %[1]d")
}

// CheckExperimentsMaxResults applies search_experiments' limit. Zero means
// the default.
func CheckExperimentsMaxResults(n int) (int, error) {
	return checkMaxResults(n, DefaultMaxResults, MaxResults,
		"Invalid value %[1]d for parameter 'max_results' supplied. It must be a positive integer",
		"Invalid value %[1]d for parameter 'max_results' supplied. It must be at most %[2]d")
}

// checkMaxResults applies a search's max_results rule: zero is def, a
// negative n is refused with negative, and one over limit (when limit is
// not 0) with over. The messages take n as %[1]d and limit as %[2]d, in
// the order of each search's MLflow message.
func checkMaxResults(n, def, limit int, negative, over string) (int, error) {
	switch {
	case n == 0:
		return def, nil
	case n < 0:
		return 0, errAt("", -1, negative, n, limit)
	case limit != 0 && n > limit:
		return 0, errAt("", -1, over, n, limit)
	}
	return n, nil
}
