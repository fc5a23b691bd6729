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
	switch {
	case n == 0:
		return DefaultMaxResults, nil
	case n < 0:
		return 0, errAt("", -1, "Invalid value for request parameter max_results. It must be a positive integer, but got value %d", n)
	case n > MaxResults:
		return 0, errAt("", -1, "Invalid value for request parameter max_results. It must be at most %d, but got value %d", MaxResults, n)
	}
	return n, nil
}

// CheckExperimentsMaxResults applies search_experiments' limit. Zero means
// the default.
func CheckExperimentsMaxResults(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultMaxResults, nil
	case n < 0:
		return 0, errAt("", -1, "Invalid value %d for parameter 'max_results' supplied. It must be a positive integer", n)
	case n > MaxResults:
		return 0, errAt("", -1, "Invalid value %d for parameter 'max_results' supplied. It must be at most %d", n, MaxResults)
	}
	return n, nil
}
