package reststore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mlruns-go/mlruns/errs"
	"github.com/mlruns-go/mlruns/reststore"
)

// Error answers become typed errors: MLflow's JSON errors keep their code
// and message; other bodies (the basic-auth app's plain text, HTML of an
// older server or a proxy) get the code Python derives from the status.
func TestStore_Call_ErrorMapping(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		kind   error
		code   string // Error.Code
		errsOf string // errs.Code of the kind alone (what a local error of that kind reports)
		msg    string
	}{
		{"not found", 404, `{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Run with id=x not found"}`,
			errs.ErrNotFound, "RESOURCE_DOES_NOT_EXIST", "RESOURCE_DOES_NOT_EXIST", "Run with id=x not found"},
		{"invalid", 400, `{"error_code":"INVALID_PARAMETER_VALUE","message":"Changing param values is not allowed."}`,
			errs.ErrInvalidParameter, "INVALID_PARAMETER_VALUE", "INVALID_PARAMETER_VALUE", "Changing param values"},
		{"exists", 400, `{"error_code":"RESOURCE_ALREADY_EXISTS","message":"Experiment(name=e) already exists."}`,
			errs.ErrAlreadyExists, "RESOURCE_ALREADY_EXISTS", "RESOURCE_ALREADY_EXISTS", "already exists"},
		{"bad request", 400, `{"error_code":"BAD_REQUEST","message":"UNIQUE constraint failed"}`,
			errs.ErrInvalidParameter, "BAD_REQUEST", "INVALID_PARAMETER_VALUE", "UNIQUE"},
		{"invalid state", 400, `{"error_code":"INVALID_STATE","message":"s"}`,
			errs.ErrInvalidState, "INVALID_STATE", "INVALID_STATE", "s"},
		{"not implemented", 501, `{"error_code":"NOT_IMPLEMENTED","message":"n"}`,
			errs.ErrNotSupported, "NOT_IMPLEMENTED", "NOT_IMPLEMENTED", "n"},
		{"json without code", 400, `{"message":"m"}`, errs.ErrInternal, "INTERNAL_ERROR", "INTERNAL_ERROR", "m"},
		{"fastapi detail", 400, `{"detail":"Artifact serving is disabled."}`, errs.ErrInternal, "INTERNAL_ERROR", "INTERNAL_ERROR", "Artifact serving is disabled."},
		{"basic-auth 401", 401, "You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html",
			reststore.ErrUnauthenticated, "UNAUTHENTICATED", "UNAUTHENTICATED", "HTTP 401 Unauthorized: You are not authenticated."},
		{"basic-auth 403", 403, "Permission denied", reststore.ErrPermissionDenied, "PERMISSION_DENIED", "PERMISSION_DENIED", "Permission denied"},
		{"old server 404", 404, "<!doctype html><title>404 Not Found</title>", errs.ErrNotSupported, "ENDPOINT_NOT_FOUND", "NOT_IMPLEMENTED", "404 Not Found"},
		{"409 text", 409, "conflict", errs.ErrAlreadyExists, "ALREADY_EXISTS", "RESOURCE_ALREADY_EXISTS", "conflict"},
		{"405 text", 405, "", errs.ErrInternal, "INTERNAL_ERROR", "INTERNAL_ERROR", "HTTP 405 Method Not Allowed"},
		{"json array", 400, `["x"]`, errs.ErrInvalidParameter, "BAD_REQUEST", "INVALID_PARAMETER_VALUE", `["x"]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, reply(c.status, c.body))
			s, _ := open(t, f.URL, nil)
			_, err := s.GetRun(context.Background(), "r1")
			require.ErrorIs(t, err, c.kind)
			var re *reststore.Error
			require.ErrorAs(t, err, &re)
			require.Equal(t, c.code, re.Code)
			require.Equal(t, c.code, re.ErrorCode())
			require.Equal(t, "GetRun", re.RPC)
			require.Equal(t, c.status, re.Status)
			require.Equal(t, c.code, errs.Code(err), "errs.Code keeps the server's code")
			require.Equal(t, c.errsOf, errs.Code(c.kind))
			require.Contains(t, re.Message, c.msg)
		})
	}
}

// A 200 must carry a JSON object (or nothing) under /api.
func TestStore_Call_BadSuccessBody(t *testing.T) {
	f := newFake(t, reply(200, "<html>proxy login</html>"))
	s, _ := open(t, f.URL, nil)
	_, err := s.GetRun(context.Background(), "r1")
	require.ErrorIs(t, err, errs.ErrInternal)
	require.ErrorContains(t, err, "was not in a valid JSON format")

	f = newFake(t, reply(200, ""))
	s, _ = open(t, f.URL, nil)
	require.NoError(t, s.DeleteRun(context.Background(), "r1"), "an empty 200 is {}")

	f = newFake(t, reply(200, `{"run":{"info":{"status":"WEIRD","lifecycle_stage":"active"}}}`))
	s, _ = open(t, f.URL, nil)
	_, err = s.GetRun(context.Background(), "r1")
	require.ErrorIs(t, err, errs.ErrInternal)
	require.ErrorContains(t, err, "WEIRD")
}
