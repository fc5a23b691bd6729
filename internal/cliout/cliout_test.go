package cliout

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWriteTable(t *testing.T) {
	tab := &Table{
		Header: []string{"run_id", "name", "loss"},
		Rows: [][]string{
			{"aaaaaaaaaaaaaaaa", "a run", "0.5"},
			{"b", "tab\there", "1"},
		},
		Marks: [][]bool{nil, {false, false, true}},
	}
	cases := []struct {
		name string
		o    Options
		want string
	}{
		{"plain", Options{}, "" +
			"run_id            name       loss\n" +
			"aaaaaaaaaaaaaaaa  a run      0.5\n" +
			"b                 tab\\there  1*\n"},
		{"narrow", Options{Width: 24}, "" +
			"run_id    name      loss\n" +
			"aaaaaaa…  a run     0.5\n" +
			"b         tab\\the…  1*\n"},
		{"narrow, ids kept", Options{Width: 24}, "" +
			"run_id      name    loss\n" +
			"aaaaaaaaa…  a run   0.5\n" +
			"b           tab\\t…  1*\n"},
		{"wider, ids kept", Options{Width: 30}, "" +
			"run_id            name    loss\n" +
			"aaaaaaaaaaaaaaaa  a run   0.5\n" +
			"b                 tab\\t…  1*\n"},
		{"color", Options{Color: true}, "" +
			"run_id            name       loss\n" +
			"aaaaaaaaaaaaaaaa  a run      0.5\n" +
			"b                 tab\\there  \x1b[1m1\x1b[0m\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			tab.Keep = nil
			if strings.HasSuffix(c.name, "ids kept") {
				tab.Keep = []bool{true}
			}
			require.NoError(t, WriteTable(&b, tab, c.o))
			require.Equal(t, c.want, b.String())
		})
	}
}

func TestWriteCSVAndJSON(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteCSV(&b, &Table{Header: []string{"k", "v"}, Rows: [][]string{{"a,b", "x\"y"}}}))
	require.Equal(t, "k,v\n\"a,b\",\"x\"\"y\"\n", b.String())
	b.Reset()
	require.NoError(t, WriteJSON(&b, map[string]string{"a": "<&>"}))
	require.Equal(t, "{\n  \"a\": \"<&>\"\n}\n", b.String())
	_, err := ParseFormat(true, true)
	require.Error(t, err)
}
