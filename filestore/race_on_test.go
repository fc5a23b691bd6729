//go:build race

package filestore_test

// raceBuild: the race detector slows the helper processes several times.
const raceBuild = true
