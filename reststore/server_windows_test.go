package reststore_test

import "testing"

// startSQLiteServer needs process groups of Unix to stop the server and its
// worker; the Windows harness is internal/interoptest's.
func startSQLiteServer(t *testing.T) string {
	t.Skip("the SQLite server helper of this package runs on Unix")
	return ""
}
